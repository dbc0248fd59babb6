using Akka.Actor;
using Akka.Event;
using DayTrading.Accounts;
using DayTrading.Persistence;

namespace DayTrading.Expiry;

public sealed record ExpiryWatchOptions
{
    /// <summary>How often the journal is read for new pending orders, commits and expiries once the index has caught up.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How often the index is checked for accounts past a deadline.</summary>
    public TimeSpan TickInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long past its deadline an order is left to its account's own timer before the account is woken.</summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long after waking an account it is woken again while the journal still shows the order pending.</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>At most this many accounts are woken per tick (a restart after a long outage recovers them in waves).</summary>
    public int MaxWakesPerTick { get; init; } = 500;

    public int PageSize { get; init; } = 2000;
}

/// <summary>
/// The cluster-wide safety net for pending buys and sells (singleton). Each account expires its own orders on its
/// timer, but that timer dies with the account's node, and a restarted account only recovers when something sends it
/// a message. This actor keeps a <see cref="PendingIndex"/> that is a projection of the journal — rebuilt from the
/// start whenever the singleton starts, then tailing the events tagged <see cref="AccountEventTags.Pending"/> — and sends
/// <see cref="WakeAccount"/> to every account whose order is still pending in the journal
/// <see cref="ExpiryWatchOptions.Grace"/> after its deadline, again every <see cref="ExpiryWatchOptions.RetryInterval"/>
/// until the journal shows it released. The account does the expiry itself, exactly as on its own timer, so a wake
/// that comes too late, twice or for nothing changes nothing.
/// </summary>
public sealed class ExpiryWatcherActor : ReceiveActor, IWithTimers
{
    private const string PollTimer = "poll";
    private const string TickTimer = "tick";

    private readonly IEventLogReader _reader;
    private readonly IActorRef _accounts;
    private readonly TimeProvider _clock;
    private readonly ExpiryWatchOptions _options;
    private readonly PendingIndex _index = new();
    private readonly Dictionary<string, long> _lastWake = new(StringComparer.Ordinal);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private long _offset;
    private bool _caughtUp;
    private long _woken;

    private sealed record Page(IReadOnlyList<EventLogEntry> Entries);
    private sealed record PageFailed(Exception Cause);

    private sealed class Poll
    {
        public static readonly Poll Instance = new();
    }

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    /// <summary>Asks for the watcher's counters; answered with <see cref="ExpiryWatchStatus"/>.</summary>
    public sealed class GetStatus
    {
        public static readonly GetStatus Instance = new();
    }

    public sealed record ExpiryWatchStatus(bool CaughtUp, long Offset, int Accounts, int Pending, long Woken);

    public ITimerScheduler Timers { get; set; } = null!;

    // The reader is opened by each incarnation (a restarted actor must not reuse the one its PostStop disposed).
    public ExpiryWatcherActor(Func<IEventLogReader> openReader, IActorRef accounts, TimeProvider clock, ExpiryWatchOptions options)
    {
        _reader = openReader();
        _accounts = accounts;
        _clock = clock;
        _options = options;

        Receive<Page>(OnPage);
        Receive<PageFailed>(f =>
        {
            _log.Warning("reading the journal for pending orders failed, retrying: {0}", f.Cause.Message);
            Timers.StartSingleTimer(PollTimer, Poll.Instance, TimeSpan.FromSeconds(1));
        });
        Receive<Poll>(_ => ReadNextPage());
        Receive<Tick>(_ => WakeDue());
        Receive<GetStatus>(_ => Sender.Tell(new ExpiryWatchStatus(_caughtUp, _offset, _index.AccountCount, _index.PendingCount, _woken)));
    }

    public static Props Props(Func<IEventLogReader> openReader, IActorRef accounts, TimeProvider clock, ExpiryWatchOptions options) =>
        Akka.Actor.Props.Create(() => new ExpiryWatcherActor(openReader, accounts, clock, options));

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer(TickTimer, Tick.Instance, _options.TickInterval);
        ReadNextPage();
    }

    protected override void PostStop() => _reader.Dispose();

    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    // Rebuilding reads every event (journals written before these events were tagged have no tags); once caught
    // up, only the tagged ones: every node tags them as it writes (AccountsSetup.AddAccountEventTags).
    private void ReadNextPage() =>
        (_caughtUp ? _reader.ReadTaggedPageAsync(_offset, AccountEventTags.Pending, _options.PageSize) : _reader.ReadPageAsync(_offset, _options.PageSize))
            .PipeTo(Self, success: p => new Page(p), failure: ex => new PageFailed(ex));

    private void OnPage(Page page)
    {
        foreach (var entry in page.Entries)
        {
            // A change of the user's pending orders settles any wake in flight: a new deadline gets its own.
            if (_index.Apply(entry.PersistenceId, entry.Payload) is { } user) _lastWake.Remove(user);
            _offset = entry.Ordering;
        }
        if (page.Entries.Count >= _options.PageSize)
        {
            ReadNextPage();
            return;
        }
        if (!_caughtUp)
        {
            _caughtUp = true;
            var overdue = _index.DueBy(Now - (long)_options.Grace.TotalMilliseconds).Count();
            _log.Info("pending-order index rebuilt from the journal up to {0}: {1} pending orders in {2} accounts, {3} of them overdue",
                _offset, _index.PendingCount, _index.AccountCount, overdue);
            WakeDue();
        }
        Timers.StartSingleTimer(PollTimer, Poll.Instance, _options.PollInterval);
    }

    private void WakeDue()
    {
        if (!_caughtUp) return; // an incomplete index may still hold orders long settled
        var now = Now;
        var retryMs = (long)_options.RetryInterval.TotalMilliseconds;
        var woken = 0;
        foreach (var (user, deadline) in _index.DueBy(now - (long)_options.Grace.TotalMilliseconds))
        {
            if (woken >= _options.MaxWakesPerTick) break;
            if (_lastWake.TryGetValue(user, out var last) && now - last < retryMs) continue;
            _log.Debug("waking account {0}: an order due at {1} is still pending in the journal", user, deadline);
            _accounts.Tell(new WakeAccount(user));
            _lastWake[user] = now;
            woken++;
        }
        _woken += woken;
    }
}
