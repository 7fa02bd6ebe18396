using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Trac.Hosting.Testing;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Tests.Telemetry;

/// <summary>
/// The Trac.Hosting meter counts what each stage decided, with namespaced attributes (trac.project only when asked
/// for), and the activity source traces a worker's start, warm-up and drain and a plugin's extraction.
/// </summary>
public sealed class TelemetryTests : IDisposable
{
    private const string Outcome = "trac.environment.resolution.outcome";

    private readonly TracTestDirectory _projects = new();

    public TelemetryTests()
    {
        _projects.CreateEnvironment("alpha", e => e.WithPlugin("Good", ("a.txt", "a")).WithPlugin("Evil", ("../../escape.txt", "x")));
        _projects.CreateEnvironment("broken", e => e.WithoutVersion());
    }

    public void Dispose() => _projects.Dispose();

    [Fact]
    public async Task EnvironmentResolution_CountsEachOutcome_WithoutTheProjectByDefault()
    {
        await using var host = await StartAsync(projectAttribute: false);

        await host.RequestPath("/").SendAsync();
        await host.Request("alpha").SendAsync();
        await host.Request("alpha", "/wiki").SendAsync();
        await host.RequestPath("/nope/").SendAsync();
        await host.Request("broken").SendAsync();

        Assert.Equal(1, host.Metrics.Sum("trac.environment.resolutions", (Outcome, "index")));
        Assert.Equal(2, host.Metrics.Sum("trac.environment.resolutions", (Outcome, "served")));
        Assert.Equal(1, host.Metrics.Sum("trac.environment.resolutions", (Outcome, "not_found")));
        Assert.Equal(1, host.Metrics.Sum("trac.environment.resolutions", (Outcome, "broken")));
        Assert.DoesNotContain(host.Metrics.Measurements, m => m.Tags.ContainsKey("trac.project"));
    }

    [Fact]
    public async Task ProjectAttribute_TagsWhatConcernsOneProject()
    {
        await using var host = await StartAsync(projectAttribute: true);

        await host.Request("alpha").SendAsync();
        await host.Request("broken").SendAsync();
        await host.RequestPath("/nope/").SendAsync();
        await host.Workers.RecycleAsync("alpha");

        Assert.Equal(1, host.Metrics.Sum("trac.environment.resolutions", ("trac.project", "alpha")));
        Assert.Equal(1, host.Metrics.Sum("trac.environment.resolutions", ("trac.project", "broken")));
        Assert.Equal(1, host.Metrics.Sum("trac.worker.requests", ("trac.project", "alpha")));
        Assert.Equal(1, host.Metrics.Sum("trac.worker.recycles", ("trac.project", "alpha")));
        Assert.Equal(1, host.Metrics.Sum("trac.worker.recycles", ("trac.worker.recycle.reason", WorkerRecycleReasons.Manual)));
        Assert.Equal(2, host.Metrics.Measurements.Count(m => m.Instrument == "trac.worker.start.duration" && Equals(m.Tags["trac.project"], "alpha")));
        // A request for no project has no project to name.
        Assert.Contains(host.Metrics.Measurements, m => m.Instrument == "trac.environment.resolutions" && !m.Tags.ContainsKey("trac.project"));
    }

    [Fact]
    public async Task ASelectorThatChoosesNothing_IsCountedAsNotConfigured()
    {
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .ConfigureTrac(o =>
            {
                o.Environment.ParentDirectory = null;
                o.Environment.Selector = _ => null;
            })
            .StartAsync();

        var response = await host.RequestPath("/wiki").SendAsync();

        Assert.Equal(500, response.StatusCode);
        Assert.Equal(1, host.Metrics.Sum("trac.environment.resolutions", (Outcome, "not_configured")));
    }

    [Fact]
    public async Task AFailedStart_IsTimedWithItsErrorType()
    {
        await using var host = await StartAsync(projectAttribute: false, recorder => recorder.FailStart = _ => new InvalidOperationException("broken"));

        Assert.Equal(503, (await host.Request("alpha").SendAsync()).StatusCode);

        var duration = Assert.Single(host.Metrics.Measurements, m => m.Instrument == "trac.worker.start.duration");
        Assert.Equal(typeof(InvalidOperationException).FullName, duration.Tags["error.type"]);
    }

    [Fact]
    public async Task PluginExtractions_AreCountedAndTimed_ByResult()
    {
        await using var host = await StartAsync(projectAttribute: false);

        await host.Request("alpha").SendAsync();

        Assert.Equal(1, host.Metrics.Sum("trac.plugin_cache.extractions", ("trac.plugin_cache.extraction.result", "extracted")));
        Assert.Equal(1, host.Metrics.Sum("trac.plugin_cache.extractions", ("trac.plugin_cache.extraction.result", "refused")));
        Assert.Equal(2, host.Metrics.Measurements.Count(m => m.Instrument == "trac.plugin_cache.extraction.duration"));
    }

    [Fact]
    public async Task Spans_TraceAWorkersStartWarmUpAndDrain_AndAPluginsExtraction()
    {
        // Names no other test uses: the activity listener hears every host in the process.
        _projects.CreateEnvironment("spans", e => e.WithPlugin("SpanGood", ("a.txt", "a")).WithPlugin("SpanEvil", ("../../escape.txt", "x")));
        using var spans = new Spans("spans", "SpanGood", "SpanEvil");
        var requestTraces = new ConcurrentQueue<ActivityTraceId>();
        await using var host = await StartAsync(
            projectAttribute: false,
            recorder => recorder.FailStart = c => c.Generation == 3 ? new InvalidOperationException("no") : null,
            app => app.Use((context, next) =>
            {
                // The request's own activity (ASP.NET Core makes one): the first start is linked to it.
                requestTraces.Enqueue(Activity.Current?.TraceId ?? default);
                return next(context);
            }));

        await host.Request("spans").SendAsync();
        var drained = spans.WaitForAsync("trac.worker.drain");
        await host.Workers.RecycleAsync("spans");
        await drained;
        await host.Workers.RecycleAsync("spans"); // generation 3 fails to start; #2 keeps serving

        var starts = spans.Named("trac.worker.start");
        Assert.Equal(["first_request", "manual", "manual"], starts.Select(s => (string)s.GetTagItem("trac.worker.start.reason")!));
        Assert.Equal(1L, starts[0].GetTagItem("trac.worker.generation"));
        // Each start is a trace of its own (its life outlasts the request that caused it), the first linked to that request.
        Assert.All(starts, s => Assert.Equal(default, s.ParentSpanId));
        Assert.True(requestTraces.TryPeek(out var requestTrace) && requestTrace != default, "the request had no activity");
        Assert.Equal(requestTrace, Assert.Single(starts[0].Links).Context.TraceId);
        Assert.NotEqual(requestTrace, starts[0].TraceId);
        Assert.Equal(ActivityStatusCode.Unset, starts[1].Status);
        Assert.Equal(ActivityStatusCode.Error, starts[2].Status);
        Assert.Equal(typeof(InvalidOperationException).FullName, starts[2].GetTagItem("error.type"));
        var warmUps = spans.Named("trac.worker.warm_up");
        Assert.Equal(starts[0].SpanId, warmUps[0].ParentSpanId);
        Assert.Equal(starts[1].SpanId, warmUps[1].ParentSpanId);
        var drain = Assert.Single(spans.Named("trac.worker.drain"));
        Assert.Equal(WorkerRecycleReasons.Manual, drain.GetTagItem("trac.worker.recycle.reason"));
        Assert.Equal(1L, drain.GetTagItem("trac.worker.generation"));
        var extractions = spans.Named("trac.plugin_cache.extract").OrderBy(s => (string)s.GetTagItem("trac.plugin.name")!, StringComparer.Ordinal).ToList();
        Assert.Equal(["SpanEvil", "SpanGood"], extractions.Select(s => (string)s.GetTagItem("trac.plugin.name")!));
        Assert.Equal([ActivityStatusCode.Error, ActivityStatusCode.Unset], extractions.Select(s => s.Status));
        Assert.Equal("Trac.Hosting.PluginCache.UnsafePluginArchiveException", extractions[0].GetTagItem("error.type"));
    }

    private Task<TracTestHost> StartAsync(bool projectAttribute, Action<TracRecorder>? recorder = null, Action<IApplicationBuilder>? before = null) =>
        TracTestHost.CreateBuilder(_projects)
            .ConfigureTrac(o => o.Telemetry.ProjectAttribute = projectAttribute)
            .UseBefore(before ?? (_ => { }))
            .UseTrac((t, r) =>
            {
                recorder?.Invoke(r);
                t.ResolveEnvironment().UsePluginCache().RecycleWorkers(o => o.ConfigureStartPipeline = (_, _) => { }).Dispatch<TracRecordingApplication>();
            })
            .StartAsync();

    /// <summary>The Trac.Hosting spans about one project (its worker's, or one of its plugins'), in the order they started.</summary>
    private sealed class Spans : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly ConcurrentQueue<Activity> _stopped = new();
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _waits = new(StringComparer.Ordinal);

        public Spans(string project, params string[] plugins)
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == "Trac.Hosting",
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = activity =>
                {
                    if (Equals(activity.GetTagItem("trac.project"), project) || plugins.Contains(activity.GetTagItem("trac.plugin.name") as string))
                    {
                        _stopped.Enqueue(activity);
                        Wait(activity.OperationName).TrySetResult();
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public List<Activity> Named(string name) => _stopped.Where(a => a.OperationName == name).OrderBy(a => a.StartTimeUtc).ToList();

        /// <summary>Completes once a span of that name has ended.</summary>
        public Task WaitForAsync(string name) => Wait(name).Task.WaitAsync(TimeSpan.FromSeconds(30));

        private TaskCompletionSource Wait(string name) =>
            _waits.GetOrAdd(name, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

        public void Dispose() => _listener.Dispose();
    }
}
