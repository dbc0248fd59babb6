using System.Net;
using System.Net.Sockets;

namespace DayTrading.Host.Web;

/// <summary>The limits of <see cref="LoginThrottle"/> (docs/SECURITY.md).</summary>
public sealed record LoginThrottleOptions
{
    /// <summary>Log-in attempts for one user id before each further one must wait.</summary>
    public int FreeAttemptsPerUser { get; init; } = 5;

    /// <summary>Failed attempts from one client address (IPv4 address or IPv6 /64) before each further one must wait.</summary>
    public int FreeAttemptsPerAddress { get; init; } = 20;

    /// <summary>The wait after the last free attempt; it doubles with every further attempt, up to <see cref="MaxLockout"/>.</summary>
    public TimeSpan BaseLockout { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxLockout { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>A user id or address with no attempt for this long (and no wait left) starts afresh.</summary>
    public TimeSpan ForgetAfter { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Entries kept per table (user ids, addresses); when full, forgotten ones go first, then the stalest.</summary>
    public int MaxEntries { get; init; } = 10_000;
}

/// <summary>
/// Brute-force protection of <c>/api/login</c>, per user id and per client address. Every attempt counts when it
/// starts (so parallel guesses count too); after the free attempts, each further one must wait
/// <see cref="LoginThrottleOptions.BaseLockout"/> × 2^(n − free) after the previous one, up to
/// <see cref="LoginThrottleOptions.MaxLockout"/>; an attempt during a wait is refused (429 with Retry-After) without
/// checking the password and without lengthening the wait. A successful log-in clears its user id and takes its own
/// attempt back from its address (a success does not clear the address: one's own account must not reset the count of
/// guesses at others). Memory is bounded by <see cref="LoginThrottleOptions.MaxEntries"/> per table.
/// </summary>
public sealed class LoginThrottle(TimeProvider clock, LoginThrottleOptions? options = null)
{
    private sealed class Entry
    {
        public int Attempts;
        public DateTimeOffset LockedUntil;
        public DateTimeOffset LastAttempt;
    }

    private readonly LoginThrottleOptions _options = options ?? new LoginThrottleOptions();
    private readonly Dictionary<string, Entry> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Entry> _addresses = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public LoginThrottleOptions Options => _options;

    public int TrackedUsers
    {
        get { lock (_lock) return _users.Count; }
    }

    public int TrackedAddresses
    {
        get { lock (_lock) return _addresses.Count; }
    }

    /// <summary>The key of a client address: IPv4 as is, IPv6 by its /64 (one host usually has a whole /64).</summary>
    public static string AddressKey(IPAddress? address)
    {
        if (address is null) return "-";
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address.ToString();
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    /// <summary>
    /// Starts an attempt: true (counted) when it may go ahead, false with the wait left when the user id or the
    /// address must wait.
    /// </summary>
    public bool TryBegin(string userId, IPAddress? address, out TimeSpan retryAfter)
    {
        var now = clock.GetUtcNow();
        var addressKey = AddressKey(address);
        lock (_lock)
        {
            var user = Get(_users, userId, now);
            var from = Get(_addresses, addressKey, now);
            var wait = Max(user?.LockedUntil ?? default, from?.LockedUntil ?? default) - now;
            if (wait > TimeSpan.Zero)
            {
                retryAfter = wait;
                return false;
            }
            Count(user ?? Add(_users, userId, now), _options.FreeAttemptsPerUser, now);
            Count(from ?? Add(_addresses, addressKey, now), _options.FreeAttemptsPerAddress, now);
            retryAfter = TimeSpan.Zero;
            return true;
        }
    }

    /// <summary>The attempt begun with <see cref="TryBegin"/> had the right password.</summary>
    public void Succeeded(string userId, IPAddress? address)
    {
        var addressKey = AddressKey(address);
        lock (_lock)
        {
            _users.Remove(userId);
            if (_addresses.TryGetValue(addressKey, out var from) && from.Attempts > 0)
            {
                from.Attempts--;
                if (from.Attempts < _options.FreeAttemptsPerAddress) from.LockedUntil = default;
            }
        }
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private bool Forgotten(Entry e, DateTimeOffset now) => now >= e.LockedUntil && now - e.LastAttempt >= _options.ForgetAfter;

    private Entry? Get(Dictionary<string, Entry> table, string key, DateTimeOffset now)
    {
        if (!table.TryGetValue(key, out var e)) return null;
        if (!Forgotten(e, now)) return e;
        table.Remove(key);
        return null;
    }

    private Entry Add(Dictionary<string, Entry> table, string key, DateTimeOffset now)
    {
        if (table.Count >= _options.MaxEntries)
        {
            foreach (var k in table.Where(kv => Forgotten(kv.Value, now)).Select(kv => kv.Key).ToArray()) table.Remove(k);
            if (table.Count >= _options.MaxEntries)
            {
                // Still full: drop the stalest tenth (one sweep pays for many inserts).
                var drop = Math.Max(1, _options.MaxEntries / 10);
                foreach (var k in table.OrderBy(kv => kv.Value.LastAttempt).Take(drop).Select(kv => kv.Key).ToArray()) table.Remove(k);
            }
        }
        var e = new Entry();
        table[key] = e;
        return e;
    }

    private void Count(Entry e, int free, DateTimeOffset now)
    {
        e.Attempts++;
        e.LastAttempt = now;
        if (e.Attempts < free) return;
        var doublings = Math.Min(e.Attempts - free, 20); // 2^20 × the base is past any sensible maximum
        var ticks = Math.Min(_options.MaxLockout.Ticks, _options.BaseLockout.Ticks * (1L << doublings));
        e.LockedUntil = now + TimeSpan.FromTicks(ticks);
    }
}
