namespace Trac.Hosting.Workers;

/// <summary>The life stages of a worker.</summary>
public enum TracWorkerState
{
    /// <summary>It receives new requests.</summary>
    Serving,

    /// <summary>It was replaced or retired: no new requests; in-flight ones finish or are aborted.</summary>
    Draining,

    /// <summary>Its services were disposed and its plugins unloaded.</summary>
    Stopped,

    /// <summary>
    /// Its drain deadline passed and its requests were aborted, but some still run (code that ignores the abort
    /// signal): it stays listed, with their count, until the last of them returns.
    /// </summary>
    Aborted,
}
