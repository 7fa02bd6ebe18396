using Trac.Hosting.Common;

namespace Trac.Hosting.Workers;

/// <summary>Makes the application of each new worker: the one thing a new kind of worker brings to the pool.</summary>
internal interface IWorkerApplicationFactory
{
    /// <summary>
    /// Checks its settings and takes what it needs from the pipeline (called once, when the dispatch stage is wired).
    /// </summary>
    /// <exception cref="InvalidOperationException">The settings are not valid; the message says how to fix them.</exception>
    void Prepare(TracPipelineContext context)
    {
    }

    /// <summary>
    /// Gets whether the applications live in processes of their own, whose memory they report
    /// (<see cref="IWorkerApplication.MemoryBytes"/>): the memory limit then judges them, never the host's working set.
    /// </summary>
    bool RunsOutOfProcess => false;

    /// <summary>Creates the application of a worker, not yet warmed.</summary>
    /// <param name="services">The worker's own services.</param>
    /// <param name="context">What the worker is built for.</param>
    IWorkerApplication Create(IServiceProvider services, TracWorkerContext context);
}
