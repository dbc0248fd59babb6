namespace DayTrading.Tests.Support;

/// <summary>The test process's live managed heap, read after full compacting collections so garbage does not count.</summary>
public static class ManagedHeap
{
    public static long AfterFullGc()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
