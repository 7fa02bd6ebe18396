using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Common;

namespace Trac.Hosting.Workers;

/// <summary>
/// The first kind of worker application: an instance of the host's <see cref="ITracApplication"/>, created from the
/// worker's services in this process. It never ends on its own, and its memory is the process's.
/// </summary>
internal sealed class InProcessApplication(ITracApplication application) : IWorkerApplication
{
    public CancellationToken Exited => CancellationToken.None;

    public CancellationToken Outdated => CancellationToken.None;

    public long? MemoryBytes => null;

    public Task WarmUpAsync(CancellationToken cancellationToken) => application.WarmUpAsync(cancellationToken);

    public Task DispatchAsync(HttpContext context) => application.DispatchAsync(context);

    public ValueTask DisposeAsync() => Disposal.DisposeAsync(application);

    /// <summary>Makes an <see cref="InProcessApplication"/> of one application type per worker.</summary>
    internal sealed class Factory([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] Type applicationType)
        : IWorkerApplicationFactory
    {
        public IWorkerApplication Create(IServiceProvider services, TracWorkerContext context) =>
            new InProcessApplication((ITracApplication)ActivatorUtilities.CreateInstance(services, applicationType));
    }
}
