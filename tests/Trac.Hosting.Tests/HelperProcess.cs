using Microsoft.Extensions.Logging.Abstractions;
using Trac.Hosting.PluginCache;

namespace Trac.Hosting.Tests;

/// <summary>
/// Entry point for running this assembly as a helper process (the test runner never calls it):
/// <c>extract-plugin &lt;archive&gt; &lt;cache&gt;</c> prints <c>ready</c>, waits for a line on standard input, extracts
/// the archive into the cache and prints <c>extracted=&lt;bool&gt; folder=&lt;path&gt;</c>.
/// </summary>
public static class HelperProcess
{
    public static async Task<int> Main(string[] args)
    {
        if (args is not ["extract-plugin", var archive, var cache])
        {
            await Console.Error.WriteLineAsync("usage: extract-plugin <archive> <cache>");
            return 2;
        }

        var extractor = new PluginExtractor(new PluginArchiveLimits(10_000, 1L << 30, 1000), null, TimeProvider.System, TimeSpan.FromMinutes(1), NullLogger.Instance);
        Console.WriteLine("ready");
        await Console.In.ReadLineAsync();
        var (plugin, extracted) = await extractor.EnsureAsync(archive, cache, CancellationToken.None);
        Console.WriteLine($"extracted={extracted} folder={plugin.Directory}");
        return 0;
    }
}
