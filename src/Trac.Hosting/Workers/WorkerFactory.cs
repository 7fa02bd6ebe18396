using System.Threading.RateLimiting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Trac.Hosting.Diagnostics;
using Trac.Hosting.Environments;
using Trac.Hosting.PluginCache;

namespace Trac.Hosting.Workers;

/// <summary>
/// Builds one worker: leases its environment's plugins, makes their load context, builds the worker's services,
/// creates and warms its application, and gives it its limiter and request limit. A failed build leaves nothing behind.
/// </summary>
internal sealed class WorkerFactory(
    WorkerSettings settings, IServiceProvider hostServices, PluginSetProvider? plugins, TimeProvider timeProvider, ILogger logger)
{
    /// <summary>Gets or sets what each worker runs; <see langword="null"/> when the pipeline ends with a dispatch delegate.</summary>
    public IWorkerApplicationFactory? Applications { get; set; }

    /// <summary>Gets the plugin cache stage of the pipeline, if it has one.</summary>
    public PluginSetProvider? Plugins => plugins;

    /// <param name="key">The pool key.</param>
    /// <param name="generation">The worker's generation.</param>
    /// <param name="environment">The environment, or <see langword="null"/> for a shared worker.</param>
    /// <param name="pluginCacheDirectory">Where the worker's plugins come from: the cache directory the plugin cache
    /// stage chose for the requests the worker serves.</param>
    /// <param name="requestLimit">After how many requests the worker asks to be replaced (0: never).</param>
    /// <param name="cancellationToken">Fires when the attempt times out or the pool stops.</param>
    public async Task<Worker> CreateAsync(
        string key, long generation, TracEnvironment? environment, string? pluginCacheDirectory, long requestLimit, CancellationToken cancellationToken)
    {
        TracPluginSet? set = null;
        WorkerLoadContext? loadContext = null;
        ServiceProvider? services = null;
        IWorkerApplication? application = null;
        try
        {
            if (plugins is not null && environment is not null && pluginCacheDirectory is not null)
            {
                set = await plugins.AcquireAsync(environment.Path, pluginCacheDirectory, cancellationToken);
                if (set.Plugins.Count > 0)
                {
                    loadContext = WorkerLoadContext.Create($"trac-worker-{environment.Name}-{generation}", set.Plugins);
                }
            }

            var context = new TracWorkerContext(key, environment, generation, set, loadContext, hostServices);
            var collection = new ServiceCollection();
            AddHostSingletons(collection);
            collection.AddSingleton(context);
            settings.ConfigureServices?.Invoke(collection, context);
            services = collection.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });
            if (Applications is { } applications)
            {
                // The application's own background work (a process's output readers) outlives the start's span.
                var span = System.Diagnostics.Activity.Current;
                System.Diagnostics.Activity.Current = null;
                application = applications.Create(services, context);
                System.Diagnostics.Activity.Current = span;
                using var warmUp = TracActivities.StartChild(TracActivities.WorkerWarmUp, WorkerSlots.ProjectOf(key));
                warmUp?.SetTag(TracActivities.GenerationTag, generation);
                try
                {
                    await application.WarmUpAsync(cancellationToken);
                }
                catch (Exception e)
                {
                    TracActivities.Fail(warmUp, e);
                    throw;
                }
            }

            var limiter = settings.MaxConcurrentRequests > 0
                ? new ConcurrencyLimiter(new ConcurrencyLimiterOptions
                {
                    PermitLimit = settings.MaxConcurrentRequests,
                    QueueLimit = settings.QueueLimit,
                    QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                })
                : null;
            return new Worker(
                key, environment, generation, services, application, set, set is null ? null : pluginCacheDirectory, loadContext, requestLimit,
                limiter, timeProvider, tracksIdleTime: settings.IdleTimeout > TimeSpan.Zero || settings.MaxWorkers > 0);
        }
        catch
        {
            // What the failed attempt made goes: its application, services, plugin lease and load context. What their
            // disposal throws is logged, and the start's own exception is the one that tells what went wrong.
            try
            {
                try
                {
                    if (application is not null)
                    {
                        await application.DisposeAsync();
                    }
                }
                finally
                {
                    if (services is not null)
                    {
                        await services.DisposeAsync();
                    }
                }
            }
            catch (Exception e)
            {
                WorkerLog.WorkerStopFailed(logger, WorkerSlots.ProjectOf(key), generation, "failed start", e.Message, e);
            }
            finally
            {
                set?.Release();
                loadContext?.Unload();
            }

            throw;
        }
    }

    private void AddHostSingletons(IServiceCollection collection)
    {
        // Host singletons stay reachable from the worker; worker registrations can replace them.
        collection.AddSingleton(timeProvider);
        if (hostServices.GetService<ILoggerFactory>() is { } loggerFactory)
        {
            collection.AddSingleton(loggerFactory);
            collection.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        }

        if (hostServices.GetService<IConfiguration>() is { } configuration)
        {
            collection.AddSingleton(configuration);
        }

        if (hostServices.GetService<IHostEnvironment>() is { } hostEnvironment)
        {
            collection.AddSingleton(hostEnvironment);
        }

        if (hostServices.GetService<IHostApplicationLifetime>() is { } lifetime)
        {
            collection.AddSingleton(lifetime);
        }
    }
}
