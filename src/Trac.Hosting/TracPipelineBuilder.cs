using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Trac.Hosting.Environments;
using Trac.Hosting.FastCgi;
using Trac.Hosting.PluginCache;
using Trac.Hosting.RemoteUser;
using Trac.Hosting.Workers;
using Trac.Hosting.Common;

namespace Trac.Hosting;

/// <summary>
/// Builds a Trac pipeline: the hosting stages, in their fixed order, in front of the host application's
/// dispatch delegate. Obtained from <c>app.UseTrac(trac =&gt; ...)</c>.
/// </summary>
/// <remarks>
/// Stages run in the order ResolveEnvironment, NormalizeRemoteUser, UsePluginCache, RecycleWorkers, Dispatch;
/// each may appear once, and one that needs an earlier stage says so when it is added. Nothing is added to the
/// application's pipeline until the whole Trac pipeline has been described without error.
/// </remarks>
public sealed class TracPipelineBuilder
{
    private static readonly TracStage[] s_order = Enum.GetValues<TracStage>();

    private readonly List<(TracStage? Stage, Action<TracPipelineContext> Apply)> _steps = [];
    private readonly HashSet<TracStage> _stages = [];
    private readonly TracOptions _options;

    internal TracPipelineBuilder(IApplicationBuilder app)
    {
        ApplicationBuilder = app;
        _options = app.ApplicationServices.GetRequiredService<IOptions<TracOptions>>().Value;
    }

    internal IApplicationBuilder ApplicationBuilder { get; }

    internal bool HasDispatch => _stages.Contains(TracStage.Dispatch);

    /// <summary>Gets the settings environment resolution was built with (its host paths), once built.</summary>
    internal EnvironmentSettings? Environment { get; private set; }

    /// <summary>
    /// Adds environment resolution: the request's Trac environment (project) becomes available through
    /// <c>HttpContext.GetTracEnvironment()</c>, unknown projects get <c>404 Environment not found</c>, a request for
    /// <c>/</c> in the multi-project modes gets the project index.
    /// </summary>
    /// <param name="configure">Adjusts, for this pipeline only, the options from <c>Trac:Environment</c>.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="InvalidOperationException">The stage was already added, or added after a later stage or after <c>Dispatch</c>.</exception>
    public TracPipelineBuilder ResolveEnvironment(Action<EnvironmentOptions>? configure = null)
    {
        Add(new EnvironmentResolutionStage(_options.Environment, configure));
        return this;
    }

    /// <summary>
    /// Adds remote-user normalization: the user name from the authenticated principal, the <c>REMOTE_USER</c> server
    /// variable or a trusted proxy's header, in one canonical spelling, available through
    /// <c>HttpContext.GetRemoteUser()</c> and <c>HttpContext.User</c>; requests to the login paths without a user are
    /// challenged.
    /// </summary>
    /// <param name="configure">Adjusts, for this pipeline only, the options from <c>Trac:RemoteUser</c>.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="InvalidOperationException">The stage was already added, or added after a later stage or after <c>Dispatch</c>.</exception>
    public TracPipelineBuilder NormalizeRemoteUser(Action<RemoteUserOptions>? configure = null)
    {
        Add(new RemoteUserStage(_options.RemoteUser, configure));
        return this;
    }

    /// <summary>
    /// Adds the plugin (egg) cache: the environment's plugin archives (<c>&lt;env&gt;/plugins/*.zip</c>) are extracted
    /// once, safely and atomically, into a protected cache directory, and the result is available through
    /// <c>HttpContext.GetTracPluginCache()</c>. Plugin changes are noticed without a restart.
    /// </summary>
    /// <param name="configure">Adjusts, for this pipeline only, the options from <c>Trac:PluginCache</c>.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="InvalidOperationException"><c>ResolveEnvironment()</c> was not added before, or the stage was
    /// already added, or added after a later stage or after <c>Dispatch</c>.</exception>
    public TracPipelineBuilder UsePluginCache(Action<PluginCacheOptions>? configure = null)
    {
        Add(new PluginCacheStage(_options.PluginCache, configure));
        return this;
    }

    /// <summary>
    /// Adds worker recycling: each environment's requests go to a worker (an instance of the application with its
    /// own services and plugins), which is replaced, overlapped and without dropping a request, after
    /// <c>MaxRequests</c> (the seeds' <c>maximum-requests=500</c>) or another configured trigger.
    /// </summary>
    /// <param name="configure">Adjusts, for this pipeline only, the options from <c>Trac:Workers</c>.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="InvalidOperationException"><c>ResolveEnvironment()</c> was not added before, or the stage was
    /// already added, or added after <c>Dispatch</c>.</exception>
    public TracPipelineBuilder RecycleWorkers(Action<WorkerOptions>? configure = null)
    {
        Add(new WorkerStage(_options.Workers, configure));
        return this;
    }

    /// <summary>
    /// Ends the Trac pipeline with the host's application type: one instance per worker, created from the worker's
    /// services (and warmed with <see cref="ITracApplication.WarmUpAsync"/>), disposed with the worker.
    /// </summary>
    /// <typeparam name="TApplication">The application; its constructor's parameters come from the worker's services.</typeparam>
    /// <returns>This builder.</returns>
    /// <exception cref="InvalidOperationException"><c>RecycleWorkers()</c> was not added before, or <c>Dispatch</c> was already called.</exception>
    public TracPipelineBuilder Dispatch<[System.Diagnostics.CodeAnalysis.DynamicallyAccessedMembers(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicConstructors)] TApplication>()
        where TApplication : class, ITracApplication
    {
        Add(new DispatchStage(new InProcessApplication.Factory(typeof(TApplication))));
        return this;
    }

    /// <summary>
    /// Ends the Trac pipeline with real Trac: each worker is a Python process running Trac's own FastCGI server
    /// (<c>trac.web._fcgi</c> around <c>dispatch_request</c>, as the FastCGI guide's <c>trac.fcgi</c>), given each
    /// request with the CGI variables the guides set (<c>trac.env_path</c>, <c>SCRIPT_NAME</c>, <c>PATH_INFO</c>, the
    /// normalized <c>REMOTE_USER</c>), started with <c>PYTHON_EGG_CACHE</c> set to the plugin cache stage's directory, and
    /// replaced, overlapped, by every recycle trigger (a new or changed <c>.egg</c> or <c>.py</c> in
    /// <c>&lt;env&gt;/plugins</c> among them). Trac's static resources (<c>chrome/common</c>, <c>chrome/site</c>) are
    /// served by the host, unless turned off.
    /// </summary>
    /// <param name="configure">Adjusts, for this pipeline only, the options from <c>Trac:Python</c>.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="InvalidOperationException"><c>RecycleWorkers()</c> was not added before, <c>Dispatch</c> was already
    /// called, or the options are not valid (the message names each problem).</exception>
    public TracPipelineBuilder DispatchToTrac(Action<TracProcessOptions>? configure = null)
    {
        var options = _options.Python.Clone();
        configure?.Invoke(options);
        FastCgiProcessSettings.ThrowIfAny(TracApplicationFactory.Check(options));
        Add(new DispatchStage(new TracApplicationFactory(options)));
        if (options.ServeStaticResources)
        {
            // Before the workers: a stylesheet neither counts towards MaxRequests nor waits for a Trac process.
            var before = _steps.FindIndex(step => step.Stage == TracStage.RecycleWorkers);
            _steps.Insert(before, (null, context => context.App.UseMiddleware<TracStaticResources>(options)));
        }

        return this;
    }

    /// <summary>
    /// Ends the Trac pipeline with any FastCGI application: each worker is a process running
    /// <see cref="FastCgiOptions.Command"/>, told where to listen by <c>{address}</c> in its arguments, given each request
    /// with the CGI variables (<c>trac.env_path</c>, <c>SCRIPT_NAME</c>, <c>PATH_INFO</c>, the normalized
    /// <c>REMOTE_USER</c>), and replaced, overlapped, by every recycle trigger.
    /// </summary>
    /// <param name="configure">Adjusts, for this pipeline only, the options from <c>Trac:FastCgi</c>.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="InvalidOperationException"><c>RecycleWorkers()</c> was not added before, <c>Dispatch</c> was already
    /// called, or the options are not valid (the message names each problem).</exception>
    public TracPipelineBuilder DispatchToFastCgi(Action<FastCgiOptions>? configure = null)
    {
        var options = _options.FastCgi.Clone();
        configure?.Invoke(options);
        Add(new DispatchStage(new FastCgiApplicationFactory(FastCgiProcessSettings.Create(options))));
        return this;
    }

    /// <summary>Ends the Trac pipeline with workers that run what <paramref name="applications"/> makes (another kind of worker).</summary>
    internal TracPipelineBuilder DispatchTo(IWorkerApplicationFactory applications)
    {
        Add(new DispatchStage(applications));
        return this;
    }

    /// <summary>
    /// Adds the host's own middleware at this point of the Trac pipeline, between stages.
    /// </summary>
    /// <param name="middleware">The middleware.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="middleware"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">Called after <c>Dispatch</c>.</exception>
    public TracPipelineBuilder Use(Func<RequestDelegate, RequestDelegate> middleware)
    {
        ArgumentNullException.ThrowIfNull(middleware);
        ThrowIfDispatched("Use");
        _steps.Add((null, context => context.App.Use(middleware)));
        return this;
    }

    /// <summary>
    /// Ends the Trac pipeline with the host application's dispatch delegate, the equivalent of Trac's
    /// <c>dispatch_request</c>. Without it, requests continue to the rest of the host's pipeline.
    /// </summary>
    /// <param name="dispatch">The host application's request handler.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="dispatch"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException"><c>Dispatch</c> was already called.</exception>
    public TracPipelineBuilder Dispatch(RequestDelegate dispatch)
    {
        ArgumentNullException.ThrowIfNull(dispatch);
        Add(new DelegateDispatchStage(dispatch));
        return this;
    }

    internal void Build()
    {
        var logins = ApplicationBuilder.ApplicationServices.GetService<Login.TracLogins>();
        if (logins is null && _options.Login.Files.Count > 0)
        {
            throw new InvalidOperationException(
                "Trac:Login:Files names password files, but their login scheme is not registered: call " +
                "builder.Services.AddAuthentication().AddTracLogin() when configuring services.");
        }

        if (logins is not null && !_stages.Contains(TracStage.NormalizeRemoteUser))
        {
            throw new InvalidOperationException(
                "AddTracLogin() is registered, but this Trac pipeline has no NormalizeRemoteUser() stage, which asks for the " +
                "logins on the login paths: add .NormalizeRemoteUser() after .ResolveEnvironment().");
        }

        if (logins is { HasProjectFiles: true } && !_stages.Contains(TracStage.ResolveEnvironment))
        {
            throw new InvalidOperationException(
                "Trac:Login:Files names projects, but this Trac pipeline has no ResolveEnvironment() stage to tell which project a " +
                "request is for: add .ResolveEnvironment() first, or keep only the '*' file.");
        }

        var context = new TracPipelineContext(ApplicationBuilder);
        foreach (var (_, apply) in _steps)
        {
            apply(context);
        }

        Environment = context.Find<EnvironmentSettings>();
    }

    /// <summary>Adds a stage after checking its place: once, in order, after the stages it needs.</summary>
    internal void Add(ITracStage added)
    {
        var stage = added.Stage;
        var method = stage.ToString();
        ThrowIfDispatched(method);
        if (!_stages.Add(stage))
        {
            throw new InvalidOperationException($"{method}() was already added to this Trac pipeline; each stage runs once.");
        }

        var later = _stages.Where(s => s > stage).ToList();
        if (later.Count > 0)
        {
            _stages.Remove(stage);
            throw new InvalidOperationException(
                $"{method}() must come before {later.Min()}() in the Trac pipeline. The stages run in the order " +
                $"{string.Join(", ", s_order.Select(s => s + "()"))}.");
        }

        foreach (var required in added.Requires.Where(r => !_stages.Contains(r)))
        {
            _stages.Remove(stage);
            throw new InvalidOperationException(
                $"{method}() needs {required}() earlier in the Trac pipeline: call .{required}() before .{method}().");
        }

        _steps.Add((stage, added.Apply));
    }

    private void ThrowIfDispatched(string method)
    {
        if (HasDispatch)
        {
            throw new InvalidOperationException(
                $"Dispatch() ends the Trac pipeline, so {method}() cannot follow it: call {method}() before Dispatch().");
        }
    }

    /// <summary>Gets whether remote-user options were configured (a <c>Trac:RemoteUser</c> section, or code).</summary>
    /// <remarks>Password-file logins (<c>Trac:Login</c>) need the stage too: it asks for them on the login paths.</remarks>
    internal bool IsRemoteUserConfigured => _options.ConfiguredSections.Contains("RemoteUser") || !_options.RemoteUser.IsDefault() ||
        _options.ConfiguredSections.Contains("Login") || !_options.Login.IsDefault();

    /// <summary>Gets whether plugin cache options were configured (a <c>Trac:PluginCache</c> section, or code).</summary>
    internal bool IsPluginCacheConfigured => _options.ConfiguredSections.Contains("PluginCache") || !_options.PluginCache.IsDefault();

    /// <summary>Gets whether worker options were configured (a <c>Trac:Workers</c> section, or code).</summary>
    internal bool IsWorkersConfigured => _options.ConfiguredSections.Contains("Workers") || !_options.Workers.IsDefault();
}
