using DayTrading.Accounts;
using Xunit;

namespace DayTrading.Tests.Accounts;

/// <summary>The idempotency memory's index: exact membership, first position kept, oldest forgotten first.</summary>
public sealed class RememberedRequestsTests
{
    [Fact]
    public void Finds_what_was_added_under_its_run_id_only()
    {
        var r = new RememberedRequests();
        r.Add("run1", 2, 10);
        r.Add("run2", 2, 11);
        Assert.True(r.TryGet("run1", 2, out var seq));
        Assert.Equal(10, seq);
        Assert.True(r.TryGet("run2", 2, out seq));
        Assert.Equal(11, seq);
        Assert.False(r.TryGet("run1", 3, out _));
        Assert.False(r.TryGet("run3", 2, out _));
    }

    [Fact]
    public void A_key_added_again_keeps_its_first_position()
    {
        var r = new RememberedRequests();
        r.Add("run", 5, 1);
        r.Add("run", 5, 99);
        Assert.Equal(1, r.Count);
        Assert.True(r.TryGet("run", 5, out var seq));
        Assert.Equal(1, seq);
    }

    [Fact]
    public void At_the_limit_the_oldest_entries_are_forgotten_first()
    {
        var r = new RememberedRequests();
        for (var tx = 1L; tx <= RememberedRequests.Limit + 100; tx++) r.Add("run", tx, tx * 10);
        Assert.Equal(RememberedRequests.Limit, r.Count);
        for (var tx = 1L; tx <= 100; tx++) Assert.False(r.TryGet("run", tx, out _), $"tx {tx} should be forgotten");
        for (var tx = 101L; tx <= RememberedRequests.Limit + 100; tx++)
        {
            Assert.True(r.TryGet("run", tx, out var seq), $"tx {tx} should be remembered");
            Assert.Equal(tx * 10, seq);
        }
        Assert.Equal(Enumerable.Range(101, RememberedRequests.Limit).Select(i => ("run", (long)i, i * 10L)), r.Entries());
    }

    [Fact]
    public void Matches_a_dictionary_model_over_random_keys_run_ids_and_evictions()
    {
        var random = new Random(2026);
        var r = new RememberedRequests();
        var model = new Dictionary<(string, long), long>();
        var order = new Queue<(string, long)>();
        for (var i = 0; i < 60_000; i++)
        {
            // Few run ids at a time, changing over the run, and transaction numbers that collide across them.
            var run = "run" + (i / 5_000 + random.Next(3));
            var tx = random.Next(0, 9_000);
            var seq = (long)i;
            r.Add(run, tx, seq);
            if (model.TryAdd((run, tx), seq))
            {
                order.Enqueue((run, tx));
                if (order.Count > RememberedRequests.Limit) model.Remove(order.Dequeue());
            }
            if (i % 97 == 0)
            {
                for (var probe = 0; probe < 50; probe++)
                {
                    var key = ("run" + (i / 5_000 + random.Next(-1, 4)), (long)random.Next(0, 9_000));
                    Assert.Equal(model.TryGetValue(key, out var expected), r.TryGet(key.Item1, key.Item2, out var actual));
                    if (model.ContainsKey(key)) Assert.Equal(expected, actual);
                }
            }
        }
        Assert.Equal(model.Count, r.Count);
        Assert.Equal(order.Select(k => (k.Item1, k.Item2, model[k])), r.Entries());
    }
}
