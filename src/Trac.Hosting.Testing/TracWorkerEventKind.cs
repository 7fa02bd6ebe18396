using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Testing;

/// <summary>The kinds of <see cref="TracWorkerEvent"/>.</summary>
public enum TracWorkerEventKind
{
    /// <summary>The application instance was created (its constructor ran).</summary>
    Created,

    /// <summary>Its warm-up started.</summary>
    WarmingUp,

    /// <summary>It was disposed.</summary>
    Disposed,
}
