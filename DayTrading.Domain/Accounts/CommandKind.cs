namespace DayTrading.Accounts;

/// <summary>The course's sixteen user commands (SPEC §2). Values are persisted: never renumber.</summary>
public enum CommandKind : byte
{
    Add = 1,
    Quote = 2,
    Buy = 3,
    CommitBuy = 4,
    CancelBuy = 5,
    Sell = 6,
    CommitSell = 7,
    CancelSell = 8,
    SetBuyAmount = 9,
    SetBuyTrigger = 10,
    CancelSetBuy = 11,
    SetSellAmount = 12,
    SetSellTrigger = 13,
    CancelSetSell = 14,
    DumpLog = 15,
    DisplaySummary = 16,
}

public static class CommandNames
{
    private static readonly string[] Names =
    [
        "", "ADD", "QUOTE", "BUY", "COMMIT_BUY", "CANCEL_BUY", "SELL", "COMMIT_SELL", "CANCEL_SELL",
        "SET_BUY_AMOUNT", "SET_BUY_TRIGGER", "CANCEL_SET_BUY", "SET_SELL_AMOUNT", "SET_SELL_TRIGGER",
        "CANCEL_SET_SELL", "DUMPLOG", "DISPLAY_SUMMARY",
    ];

    public static string Name(this CommandKind kind) => Names[(int)kind];

    public static bool TryParse(ReadOnlySpan<char> name, out CommandKind kind)
    {
        for (var i = 1; i < Names.Length; i++)
        {
            if (name.Equals(Names[i], StringComparison.OrdinalIgnoreCase))
            {
                kind = (CommandKind)i;
                return true;
            }
        }
        kind = default;
        return false;
    }
}
