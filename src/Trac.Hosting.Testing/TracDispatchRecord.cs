using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Testing;

/// <summary>What one dispatch saw.</summary>
/// <param name="Environment">The environment's name.</param>
/// <param name="PathBase">The request's <c>PathBase</c>.</param>
/// <param name="Path">The request's <c>Path</c>.</param>
/// <param name="RemoteUser">The normalized remote user, or <see langword="null"/>.</param>
/// <param name="PluginFolders">The extracted plugin folders of the request's environment.</param>
/// <param name="WorkerKey">The worker's key, or <see langword="null"/> without the worker stage.</param>
/// <param name="Generation">The worker's generation, or 0 without the worker stage.</param>
public sealed record TracDispatchRecord(
    string Environment, string PathBase, string Path, string? RemoteUser, IReadOnlyList<string> PluginFolders, string? WorkerKey, long Generation)
{
    /// <summary>Gets the project name of the request's environment (<c>[project] name</c>, or Trac's default).</summary>
    public string? ProjectName { get; init; }

    /// <summary>
    /// Gets the name of the environment the worker was built for (<c>shared</c> for a shared worker), as the
    /// dispatching <see cref="TracRecordingApplication"/> knows it (with <see cref="TracRecorder.Dispatch"/>: as the
    /// worker serving the request knows it); <see langword="null"/> without the worker stage.
    /// </summary>
    public string? WorkerEnvironment { get; init; }

    /// <summary>
    /// Gets the project name of the environment the worker was built for, as it was when the worker started (a
    /// <c>trac.ini</c> change reaches the next worker); <see langword="null"/> for a shared worker or without the
    /// worker stage.
    /// </summary>
    public string? WorkerProjectName { get; init; }

    /// <summary>Gets the names of the plugin assemblies loaded into the worker; empty without the worker stage.</summary>
    public IReadOnlyList<string> WorkerPluginAssemblies { get; init; } = [];
}
