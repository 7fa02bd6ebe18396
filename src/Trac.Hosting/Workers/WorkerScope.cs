namespace Trac.Hosting.Workers;

/// <summary>Which requests share a worker.</summary>
public enum WorkerScope
{
    /// <summary>One worker per environment (project): its own services, plugins and request count.</summary>
    PerEnvironment,

    /// <summary>One worker for every environment, as a single mod_wsgi process group would be. It loads no plugins.</summary>
    Shared,
}
