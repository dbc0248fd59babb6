using DayTrading.Persistence;
using Npgsql;
using Xunit;

namespace DayTrading.Tests.Persistence;

/// <summary>
/// Every node's journal batch holds one advisory lock shared by all nodes. A node that vanishes in the middle of a
/// batch (cut off from the network: its session just goes silent) must not keep that lock, and with it every other
/// node's writes, until PostgreSQL's default keepalive gives up after hours: found by ClusterPartitionTests.
/// </summary>
public sealed class PostgresDeadClientTests
{
    [Fact]
    public async Task Journal_sessions_ask_the_server_to_drop_an_idle_transaction_and_probe_a_silent_client()
    {
        using var store = new TestStore("postgresql");
        var dialect = new PostgresDialect(store.Settings());
        await using var c = await dialect.DataSource.OpenConnectionAsync(TestContext.Current.CancellationToken);
        async Task<string> Show(string name)
        {
            await using var cmd = new NpgsqlCommand($"SHOW {name}", c);
            return (string)(await cmd.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
        }
        Assert.Equal("5s", await Show("idle_in_transaction_session_timeout"));
        Assert.Equal("3", await Show("tcp_keepalives_idle"));
        Assert.Equal("1", await Show("tcp_keepalives_interval"));
        Assert.Equal("3", await Show("tcp_keepalives_count"));
        Assert.Equal("5000", await Show("tcp_user_timeout")); // milliseconds
    }

    [Fact]
    public async Task A_batch_whose_node_went_silent_releases_the_lock_every_node_writes_under()
    {
        var ct = TestContext.Current.CancellationToken;
        using var store = new TestStore("postgresql");
        var dialect = new PostgresDialect(store.Settings());
        var lockSql = $"SELECT pg_advisory_xact_lock({dialect.BatchLockKey})";

        // The vanished node: its batch took the lock, then nothing more came from it.
        await using var vanished = await dialect.DataSource.OpenConnectionAsync(ct);
        await using var stuck = await vanished.BeginTransactionAsync(ct);
        await using (var take = new NpgsqlCommand(lockSql, vanished, stuck)) await take.ExecuteNonQueryAsync(ct);

        // Another node's next batch waits for the lock, and gets it once the server has ended the silent one.
        await using var other = await dialect.DataSource.OpenConnectionAsync(ct);
        await using var batch = await other.BeginTransactionAsync(ct);
        await using (var wait = new NpgsqlCommand(lockSql, other, batch) { CommandTimeout = 60 }) await wait.ExecuteNonQueryAsync(ct);
        await batch.CommitAsync(ct);

        // The silent batch was rolled back by the server, not committed: its session is gone.
        var gone = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var next = new NpgsqlCommand("SELECT 1", vanished, stuck);
            await next.ExecuteScalarAsync(ct);
        });
        Assert.True(gone is NpgsqlException or InvalidOperationException, gone.ToString());
    }
}
