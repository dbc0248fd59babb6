using System.CommandLine;

// Temporary wiring in the wt-journal worktree so journal-bench can be run; the lead owns the final Program.cs.
var root = new RootCommand("DayTrading load generator");
root.Subcommands.Add(DayTrading.Loadgen.JournalBench.JournalBenchCommand.Create());
return await root.Parse(args).InvokeAsync();
