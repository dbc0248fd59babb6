using DayTrading.Telemetry;

namespace DayTrading.Accounts;

/// <summary>How an answer counts for an operator (docs/OPERATIONS.md): refusals by the domain are correct answers; failures are not.</summary>
public static class RequestOutcomes
{
    public static RequestOutcome Of(TradeReply reply) => reply.Ok ? RequestOutcome.Ok : Of(reply.Reason);

    /// <summary>What a refusal with <paramref name="reason"/> counts as (the Loadgen reads its answers the same way).</summary>
    public static RequestOutcome Of(RefusalReason reason) => reason switch
    {
        RefusalReason.OutcomeUnknown or RefusalReason.NotDone or RefusalReason.QuoteUnavailable or RefusalReason.DumpFailed
            or RefusalReason.Misrouted => RequestOutcome.Failed,
        _ => RequestOutcome.Refused,
    };
}
