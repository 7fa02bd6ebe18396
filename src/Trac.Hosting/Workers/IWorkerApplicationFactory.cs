namespace Trac.Hosting.Workers;

/// <summary>Makes the application of each new worker: the one thing a new kind of worker brings to the pool.</summary>
internal interface IWorkerApplicationFactory
{
    /// <summary>Creates the application of a worker, not yet warmed.</summary>
    /// <param name="services">The worker's own services.</param>
    /// <param name="context">What the worker is built for.</param>
    IWorkerApplication Create(IServiceProvider services, TracWorkerContext context);
}
