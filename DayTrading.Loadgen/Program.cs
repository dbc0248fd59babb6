using DayTrading.Loadgen.Cli;

// replay | generate | journal-bench. Exit codes: 0 ok, 1 failed run, 2 threshold breached (see Cli/LoadgenCli.cs).
var root = LoadgenCli.BuildRoot();
return await root.Parse(args).InvokeAsync();
