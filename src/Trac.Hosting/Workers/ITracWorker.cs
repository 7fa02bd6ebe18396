using Microsoft.AspNetCore.Http;
using Trac.Hosting.Environments;

namespace Trac.Hosting.Workers;

/// <summary>The worker serving a request, in <see cref="HttpContext.Features"/> (<c>HttpContext.GetTracWorker()</c>).</summary>
public interface ITracWorker
{
    /// <summary>Gets the pool key: the environment's path, or <c>shared</c>.</summary>
    string Key { get; }

    /// <summary>Gets the environment the worker was built for, or <see langword="null"/> for a shared worker.</summary>
    TracEnvironment? Environment { get; }

    /// <summary>
    /// Gets the worker's generation: 1 for the first worker of a key, one more for each replacement; from 1 again for
    /// a project that left the listing and came back.
    /// </summary>
    long Generation { get; }

    /// <summary>Gets how many requests the worker has finished.</summary>
    long RequestsServed { get; }

    /// <summary>Gets the worker's services (worker singletons live and die with the worker).</summary>
    IServiceProvider Services { get; }

    /// <summary>
    /// Gets a token that fires when the worker is being retired: finish quickly; requests still running after
    /// <see cref="WorkerOptions.DrainTimeout"/> are aborted.
    /// </summary>
    CancellationToken Draining { get; }

    /// <summary>Gets when the worker started.</summary>
    DateTimeOffset StartedAt { get; }
}
