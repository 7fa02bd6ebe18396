using BenchmarkDotNet.Running;
using Trac.Hosting.Benchmarks;

if (args.Length > 0 && args[0] == "--load")
{
    await LoadRun.RunAsync(args[1..]);
    return;
}

if (args.Length > 0 && args[0] == "--leak")
{
    await LeakRun.RunAsync(args[1..]);
    return;
}

if (args.Length > 0 && args[0] == "--churn")
{
    await ChurnRun.RunAsync(args[1..]);
    return;
}

if (args is ["--recycles", var recycles])
{
    // The cost of one recycle, measured from outside BenchmarkDotNet (see docs/performance.md).
    await RecycleProbe.RunAsync(int.Parse(recycles, System.Globalization.CultureInfo.InvariantCulture));
    return;
}

if (args is ["--filesystem-probe", var count])
{
    // Runs warm requests only, for counting file-system calls from outside (see docs/performance.md).
    await FileSystemProbe.RunAsync(int.Parse(count, System.Globalization.CultureInfo.InvariantCulture));
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(PluginCacheBenchmarks).Assembly).Run(args);
