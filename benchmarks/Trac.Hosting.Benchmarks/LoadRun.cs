using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Trac.Hosting.Testing;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Benchmarks;

/// <summary>
/// The worker-recycling load run: a Kestrel host on loopback serving several environments, driven by concurrent
/// keep-alive clients for a fixed time, once with <c>MaxRequests</c> recycling and once without; prints requests,
/// failures, recycles and latency percentiles for both.
/// </summary>
internal static class LoadRun
{
    public static async Task RunAsync(string[] args)
    {
        var seconds = Option(args, "--seconds", 20);
        var connections = Option(args, "--connections", 32);
        var environments = Option(args, "--environments", 4);
        var maxRequests = Option(args, "--max-requests", 100);
        Console.WriteLine($"{environments} environments, {connections} connections, {seconds} s per run, MaxRequests={maxRequests}");
        Console.WriteLine("| Run | Requests | Failures | Recycles | p50 (ms) | p99 (ms) | p99.9 (ms) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        // Interleaved, so that both runs see the same machine.
        for (var round = 0; round < 2; round++)
        {
            await RunOnceAsync("no recycling", 0, seconds, connections, environments);
            await RunOnceAsync($"MaxRequests={maxRequests}", maxRequests, seconds, connections, environments);
        }
    }

    private static async Task RunOnceAsync(string label, int maxRequests, int seconds, int connections, int environments)
    {
        using var projects = new TracTestDirectory("trac-load-");
        for (var i = 0; i < environments; i++)
        {
            projects.CreateEnvironment($"p{i}");
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Services.AddTrac(o => o.Environment.ParentDirectory = projects.Path);
        await using var app = builder.Build();
        app.UseTrac(t => t.ResolveEnvironment()
            .RecycleWorkers(o => o.MaxRequests = maxRequests)
            .Dispatch<HelloApplication>());
        await app.StartAsync();
        var address = app.Urls.First();

        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections }) { BaseAddress = new Uri(address) };
        var deadline = Stopwatch.StartNew();
        var latencies = new List<double>[connections];
        var failures = 0;
        var workers = Enumerable.Range(0, connections).Select(c => Task.Run(async () =>
        {
            var mine = latencies[c] = new List<double>(100_000);
            var i = 0;
            while (deadline.Elapsed < TimeSpan.FromSeconds(seconds))
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await client.GetAsync($"/p{(c + i++) % environments}/wiki");
                    await response.Content.ReadAsByteArrayAsync();
                    if (!response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref failures);
                }

                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        })).ToArray();
        await Task.WhenAll(workers);

        var all = latencies.SelectMany(l => l).Order().ToArray();
        var recycles = app.Services.GetRequiredService<IWorkerPool>().Workers.Sum(w => w.Generation - 1);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {label} | {all.Length} | {failures} | {recycles} | {Percentile(all, 0.50):F2} | {Percentile(all, 0.99):F2} | {Percentile(all, 0.999):F2} |"));
        await app.StopAsync();
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[(int)Math.Min(sorted.Length - 1, Math.Ceiling(p * sorted.Length) - 1)];

    private static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
    }

    /// <summary>The application under load: answers at once.</summary>
    internal sealed class HelloApplication : ITracApplication
    {
        public Task DispatchAsync(HttpContext context) => context.Response.WriteAsync("Hello World!");
    }
}
