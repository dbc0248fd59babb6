namespace DayTrading.Loadgen.Generation;

/// <summary>
/// The command mix of the course workloads, as a per-user first-order Markov chain, embedded so the generator needs
/// no files at run time.
/// <para>
/// How it was measured (../shared/workloads/10User_testWorkLoad, 10,000 lines, 10 users, 2025 course file): every
/// line was parsed as <c>[N] CMD,user,…</c>; for each user the pair (previous command of that user → this command)
/// was counted (the admin <c>DUMPLOG,./testLOG</c> excluded). <see cref="Transitions"/> holds those raw counts
/// (rows sum to the number of times the "from" command was followed by another of that user's commands). Every
/// user's first command is ADD (10/10). Mix of the file, for reference (share of its 10,000 lines):
/// BUY 13.15%, QUOTE 11.46%, COMMIT_BUY 10.37%, COMMIT_SELL 8.54%, ADD 7.35%, DISPLAY_SUMMARY 7.31%, SELL 7.14%,
/// CANCEL_BUY 5.19%, CANCEL_SET_SELL 5.08%, SET_SELL_TRIGGER 4.90%, CANCEL_SELL 4.76%, SET_BUY_TRIGGER 4.57%,
/// CANCEL_SET_BUY 4.55%, SET_SELL_AMOUNT 2.96%, SET_BUY_AMOUNT 2.66%, DUMPLOG 0.01%.
/// Notable transitions: BUY → COMMIT_BUY 48% / CANCEL_BUY 10%; SELL → COMMIT_SELL 50% / CANCEL_SELL 10%;
/// SET_BUY_AMOUNT → SET_BUY_TRIGGER 70%; SET_SELL_AMOUNT → SET_SELL_TRIGGER 70%; ADD → QUOTE 39% / BUY 41%;
/// QUOTE → BUY 31%.
/// </para>
/// <para>
/// Other measured facts: 50 distinct symbols, all of 3 upper-case letters, used about uniformly (the most used 3.4%);
/// a SET_SELL_TRIGGER or CANCEL_SET_SELL right after SET_SELL_AMOUNT names the same symbol (208/206 and 45/32
/// reuses), other commands repeat the user's previous symbol only at chance (≈1/50), CANCEL_SET_BUY after
/// SET_BUY_AMOUNT about half of the time; amounts always have 2 decimals; BUY, SELL, SET_BUY_AMOUNT and
/// SET_SELL_AMOUNT amounts are about uniform in (0, 750]; trigger prices are skewed: 80% below 200, the rest up to
/// ≈720; ADD amounts: deciles 49k…89k (mean ≈ 70k, sd ≈ 15k, max 118k), and 1 of 735 is negative (-73280.58; the
/// server refuses it, the generator keeps that rare quirk). Users' lines are interleaved at random, each user
/// getting about the same share (918…1,039 of 10,000). The 1-user file (100 lines) has the same shape but is too
/// small to measure.
/// </para>
/// </summary>
public static class CourseMix
{
    /// <summary>Order of the rows and columns of <see cref="Transitions"/>.</summary>
    public static readonly string[] Commands =
    [
        "ADD", "QUOTE", "BUY", "COMMIT_BUY", "CANCEL_BUY", "SELL", "COMMIT_SELL", "CANCEL_SELL", "SET_BUY_AMOUNT",
        "CANCEL_SET_BUY", "SET_BUY_TRIGGER", "SET_SELL_AMOUNT", "SET_SELL_TRIGGER", "CANCEL_SET_SELL", "DISPLAY_SUMMARY",
    ];

    public const int Add = 0, Quote = 1, Buy = 2, CommitBuy = 3, CancelBuy = 4, Sell = 5, CommitSell = 6, CancelSell = 7,
        SetBuyAmount = 8, CancelSetBuy = 9, SetBuyTrigger = 10, SetSellAmount = 11, SetSellTrigger = 12,
        CancelSetSell = 13, DisplaySummary = 14;

    /// <summary>Measured counts: Transitions[from][to] (see the class comment).</summary>
    public static readonly int[][] Transitions =
    [
        // from \ to:           ADD QUOTE BUY  C_B  X_B SELL  C_S  X_S SBA  XSB  SBT  SSA  SST  XSS  DS
        /* ADD              */ [  5, 285, 299,  14,   5,  15,   9,  16,   9,   6,  18,  16,   7,  18,  13],
        /* QUOTE            */ [107, 205, 353,  49,  43,  37,  33,  39,  34,  30,  36,  37,  38,  43,  61],
        /* BUY              */ [ 23,  74,  41, 635, 131,  34,  44,  43,  39,  44,  32,  44,  43,  40,  45],
        /* COMMIT_BUY       */ [116, 112, 113,  46,  57, 112,  78,  51,  27,  56,  29,  26,  30,  67, 117],
        /* CANCEL_BUY       */ [ 42,  38,  50,  38,  27,  70,  45,  29,  13,  34,  11,  17,  16,  32,  57],
        /* SELL             */ [ 11,  46,  25,  21,  23,  19, 355,  68,  28,  22,  14,  24,  21,  21,  16],
        /* COMMIT_SELL      */ [ 90,  78,  76,  49,  58,  84,  64,  41,  19,  50,  30,  37,  26,  55,  97],
        /* CANCEL_SELL      */ [ 48,  46,  47,  38,  33,  41,  33,  31,  14,  20,  17,   9,  16,  26,  57],
        /* SET_BUY_AMOUNT   */ [  0,   5,  19,   0,   0,  17,   0,   0,   0,  27, 185,   0,   0,   0,  12],
        /* CANCEL_SET_BUY   */ [ 47,  51,  39,  21,  26,  37,  36,  33,  12,  31,  21,  15,  18,  23,  44],
        /* SET_BUY_TRIGGER  */ [ 46,  47,  52,  20,  26,  52,  25,  29,  15,  28,   8,  14,  16,  37,  42],
        /* SET_SELL_AMOUNT  */ [  0,   9,  24,   0,   0,  12,   0,   0,   0,   0,   0,   0, 206,  32,  13],
        /* SET_SELL_TRIGGER */ [ 54,  42,  50,  27,  19,  59,  37,  31,  21,  23,  17,  19,  12,  37,  40],
        /* CANCEL_SET_SELL  */ [ 71,  44,  47,  33,  28,  61,  35,  21,  12,  35,  18,  15,  15,  25,  46],
        /* DISPLAY_SUMMARY  */ [ 65,  64,  80,  46,  43,  64,  60,  44,  23,  49,  21,  23,  26,  52,  71],
    ];

    /// <summary>Number of distinct symbols in the course file.</summary>
    public const int SymbolCount = 50;

    /// <summary>Share of ADD amounts that are negative in the course file (1 of 735).</summary>
    public const double NegativeAddShare = 1.0 / 735;

    /// <summary>Which commands take a symbol (second argument).</summary>
    public static bool HasSymbol(int cmd) => cmd is Quote or Buy or Sell or SetBuyAmount or CancelSetBuy or SetBuyTrigger
        or SetSellAmount or SetSellTrigger or CancelSetSell;

    /// <summary>Which commands take an amount or price (third argument).</summary>
    public static bool HasAmount(int cmd) => cmd is Buy or Sell or SetBuyAmount or SetBuyTrigger or SetSellAmount or SetSellTrigger;

    /// <summary>The mix implied by the counts (share of user commands per command), for tests and docs.</summary>
    public static double[] MeasuredMix()
    {
        var col = new double[Commands.Length];
        double total = 0;
        foreach (var row in Transitions)
            for (var j = 0; j < row.Length; j++)
            {
                col[j] += row[j];
                total += row[j];
            }
        for (var j = 0; j < col.Length; j++) col[j] /= total;
        return col;
    }
}
