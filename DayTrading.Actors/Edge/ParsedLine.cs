using DayTrading.Accounts;

namespace DayTrading.Edge;

public enum ParsedLineKind : byte
{
    /// <summary>A valid user command: <see cref="ParsedLine.Request"/> is set.</summary>
    Request = 0,
    /// <summary>A refused line: <see cref="ParsedLine.Reason"/> says why; the edge answers ERR and records it.</summary>
    Rejected = 1,
    /// <summary>A session directive (<c>#RUN</c>, <c>#QUIET</c>); never forwarded.</summary>
    Directive = 2,
}

public enum DirectiveKind : byte
{
    Unknown = 0,
    Run = 1,
    Quiet = 2,
    /// <summary><c>#ORDER,position</c> / <c>#ORDER,ready</c>: responses in request order, or as soon as ready.</summary>
    Order = 3,
}

/// <summary>The outcome of <see cref="LineParser.Parse"/> for one framed line.</summary>
public sealed class ParsedLine
{
    private ParsedLine(ParsedLineKind kind) => Kind = kind;

    public ParsedLineKind Kind { get; }

    /// <summary>The transaction number (given or assigned). 0 for directives.</summary>
    public long TxNum { get; private init; }

    /// <summary>True when the line carried no <c>[N]</c> (or an unusable one) and <see cref="TxNum"/> was assigned.</summary>
    public bool TxNumAssigned { get; private init; }

    public TradeRequest? Request { get; private init; }

    /// <summary>Canonical command name when it was recognised (for requests and rejections), else null.</summary>
    public string? Command { get; private init; }

    /// <summary>The user id when it was present and valid (rejections), else null.</summary>
    public string? UserId { get; private init; }

    /// <summary>Why the line was refused (rejections, invalid directives).</summary>
    public string? Reason { get; private init; }

    public DirectiveKind Directive { get; private init; }

    /// <summary>The directive's validated value: the run id, "on"/"off" for QUIET, "position"/"ready" for ORDER.</summary>
    public string? DirectiveValue { get; private init; }

    /// <summary>The directive's name as written (upper-cased) for the response; "?" when unknown.</summary>
    public string? DirectiveName { get; private init; }

    public static ParsedLine ForRequest(TradeRequest request, bool assigned) => new(ParsedLineKind.Request)
    {
        TxNum = request.TxNum, TxNumAssigned = assigned, Request = request, Command = request.Kind.Name(),
        UserId = request.UserId,
    };

    public static ParsedLine ForRejected(long txNum, bool assigned, string? command, string? userId, string reason) =>
        new(ParsedLineKind.Rejected)
        {
            TxNum = txNum, TxNumAssigned = assigned, Command = command, UserId = userId, Reason = reason,
        };

    public static ParsedLine ForDirective(DirectiveKind directive, string name, string? value, string? error) =>
        new(ParsedLineKind.Directive)
        {
            Directive = directive, DirectiveName = name, DirectiveValue = value, Reason = error,
        };

    public override string ToString() => Kind switch
    {
        ParsedLineKind.Request => $"Request {Request}",
        ParsedLineKind.Rejected => $"Rejected [{TxNum}] {Command ?? "?"} {UserId}: {Reason}",
        _ => $"Directive {DirectiveName} {DirectiveValue} {Reason}",
    };
}
