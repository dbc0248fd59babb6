using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;

namespace DayTrading.Host;

/// <summary>
/// How the command line answers a line it cannot parse: one <c>error: …</c> line and where to read the usage
/// (<c>run 'cluster --help'</c>), exit code 1. System.CommandLine's own answer lists every error (an unknown verb
/// is two: the verb is unknown and none was given) and then the whole help, which buries the one line that says
/// what was wrong.
/// </summary>
public static class CommandLineUsage
{
    public const int ExitUsage = 1;

    /// <summary>True when <paramref name="parse"/> is a parse error to report (not a --help or --version request).</summary>
    public static bool IsParseError(ParseResult parse) => parse.Errors.Count > 0 && parse.Action is ParseErrorAction;

    /// <summary>Writes the error and the hint to <paramref name="error"/>; returns the exit code.</summary>
    public static int ReportParseError(ParseResult parse, TextWriter error)
    {
        error.WriteLine($"error: {MainError(parse)}");
        error.WriteLine($"run '{HelpCommand(parse)}' to see the commands and options");
        return ExitUsage;
    }

    // A word the parser did not know is what the user got wrong; "Required command was not provided" follows from it.
    private static string MainError(ParseResult parse)
    {
        var unknown = parse.UnmatchedTokens.Count > 0 ? $"'{parse.UnmatchedTokens[0]}'" : null;
        var error = unknown is null ? null : parse.Errors.FirstOrDefault(e => e.Message.Contains(unknown, StringComparison.Ordinal));
        return (error ?? parse.Errors[0]).Message;
    }

    /// <summary>The --help of the command the error is in, without the executable's name: <c>cluster leave --help</c>.</summary>
    private static string HelpCommand(ParseResult parse)
    {
        var path = new List<string>();
        for (var command = parse.CommandResult; command.Parent is CommandResult parent; command = parent) path.Insert(0, command.Command.Name);
        path.Add("--help");
        return string.Join(' ', path);
    }
}
