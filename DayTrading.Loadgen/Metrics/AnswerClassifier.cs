using DayTrading.Accounts;
using DayTrading.Telemetry;

namespace DayTrading.Loadgen.Metrics;

/// <summary>
/// Whether an ERR answer is a <em>refusal</em> (the domain or the edge's checks said no: no funds, nothing pending,
/// bad input; a correct answer, part of the workload) or a <em>failure</em> (not done or outcome unknown: no answer
/// in time, an internal error, a write the journal refused, no quote, a failed dump, a misrouted request), counted
/// the way the node's own metrics count it (<see cref="RequestOutcomes.Of(RefusalReason)"/>). The wire carries
/// only the reason's text, so the failure reasons are read back from the texts the node writes for them (kept in
/// step with <c>AccountDomain</c>, <c>AccountActor</c>, <c>ClusterTradeGateway</c>, <c>QuoteManagerActor</c> and
/// the edge); every other ERR is a refusal. A DUMPLOG is the exception: the auditor's failure texts are open-ended,
/// so a DUMPLOG's ERR is a failure unless it is one of the checks the node refuses it with (file name, dump directory,
/// admin edge, arguments, a reused transaction number, an unknown user).
/// </summary>
public static class AnswerClassifier
{
    /// <summary>The reason the Loadgen gives a request it never got an answer to (failed).</summary>
    public const string NoAnswerPrefix = "no answer: ";

    /// <summary><see cref="RequestOutcome.Refused"/> or <see cref="RequestOutcome.Failed"/> for an ERR answer of <paramref name="command"/>.</summary>
    public static RequestOutcome Classify(string command, string? reason) =>
        FailureReasonOf(command, reason) is { } failure ? RequestOutcomes.Of(failure) : RequestOutcome.Refused;

    /// <summary>The node's failure reason the text was written for; null when it is a refusal.</summary>
    public static RefusalReason? FailureReasonOf(string command, string? reason)
    {
        if (string.IsNullOrWhiteSpace(reason)) return RefusalReason.NotDone; // the node always says why it refuses
        bool Starts(string prefix) => reason.StartsWith(prefix, StringComparison.Ordinal);
        bool Has(string part) => reason.Contains(part, StringComparison.Ordinal);

        // ClusterTradeGateway's ask timeout, TradeMessages' faulted ask, the edge's missing reply.
        if (Starts("no answer from account") || Starts("internal error")) return RefusalReason.OutcomeUnknown;
        // AccountActor: the journal failed the write or the recovery (its store unreachable).
        if (Starts(DayTrading.Accounts.AccountActor.JournalUnavailablePrefix)) return RefusalReason.OutcomeUnknown;
        // AccountActor: the journal refused the write; an earlier outcome could not be read.
        if (Starts("not done") || (Starts("the earlier outcome of transaction") && Has("could not be read"))) return RefusalReason.NotDone;
        // AccountDomain and QuoteManagerActor: no valid quote (server down, slow, answered amiss, expired).
        if (Starts("quote ") || Starts("no quote")) return RefusalReason.QuoteUnavailable;
        if (Starts("request for user") && Has("reached account")) return RefusalReason.Misrouted;
        // The Loadgen's own: the answer never came, or came in no known form.
        if (Starts(NoAnswerPrefix) || Starts("malformed response")) return RefusalReason.NotDone;
        if (command == "DUMPLOG" && !IsDumpRefusal(reason)) return RefusalReason.DumpFailed;
        return null;
    }

    /// <summary>The checks the node refuses a DUMPLOG with before writing anything (ClusterTradeGateway, DumpPaths, LineParser, the recorders).</summary>
    private static bool IsDumpRefusal(string reason) =>
        reason.StartsWith("file name", StringComparison.Ordinal)
        || reason.StartsWith("no dump directory", StringComparison.Ordinal)
        // "DUMPLOG takes …", "DUMPLOG filename …", "DUMPLOG without a user is for administrators …"
        || reason.StartsWith("DUMPLOG ", StringComparison.Ordinal)
        || reason.StartsWith("unknown user", StringComparison.Ordinal)
        || reason.StartsWith("invalid user id", StringComparison.Ordinal)
        || reason.StartsWith("user id is missing", StringComparison.Ordinal)
        || reason.Contains("was already used for a different", StringComparison.Ordinal);
}
