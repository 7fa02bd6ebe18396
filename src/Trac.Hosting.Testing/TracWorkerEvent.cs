using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Testing;

/// <summary>Something that happened to a <see cref="TracRecordingApplication"/> instance.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Environment">The worker's environment name (<c>shared</c> for a shared worker).</param>
/// <param name="Generation">The worker's generation.</param>
public sealed record TracWorkerEvent(TracWorkerEventKind Kind, string Environment, long Generation)
{
    /// <inheritdoc />
    public override string ToString() => $"{Kind} {Environment}#{Generation}";
}
