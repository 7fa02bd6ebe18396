using Microsoft.AspNetCore.Http;

namespace Trac.Hosting.Environments;

/// <summary>
/// The environment feature of a request, with the <c>PathBase</c> and <c>Path</c> the rest of the pipeline sees.
/// Immutable: the requests of a slot that have the same environment and the same original path share one.
/// </summary>
internal sealed class TracEnvironmentFeature(
    TracEnvironment environment, PathString originalPathBase, PathString originalPath, PathString pathBase, PathString path, bool movedName)
    : ITracEnvironmentFeature
{
    public TracEnvironment Environment { get; } = environment;

    public PathString OriginalPathBase { get; } = originalPathBase;

    public PathString OriginalPath { get; } = originalPath;

    /// <summary>
    /// Gets the <c>PathBase</c> inside the Trac pipeline (with the environment's segment, in the multi-project modes; a
    /// <c>%</c> of the name is <c>%25</c> there, so links built from it lead back to the same environment).
    /// </summary>
    public PathString PathBase { get; } = pathBase;

    /// <summary>Gets the <c>Path</c> inside the Trac pipeline (the path inside the environment, in the multi-project modes).</summary>
    public PathString Path { get; } = path;

    /// <summary>Gets whether the environment's name moved from <c>Path</c> to <c>PathBase</c> (not for a selected environment).</summary>
    public bool MovedName { get; } = movedName;

    /// <summary>
    /// Returns whether this feature is the one for a request with these original values: the same environment
    /// (not one reloaded since), found the same way (by name, or selected), and the same strings, compared ordinally
    /// (<see cref="PathString"/>'s own equality ignores case, and <see langword="null"/> and empty differ for what is
    /// restored afterwards).
    /// </summary>
    public bool IsFor(TracEnvironment environment, PathString originalPathBase, PathString originalPath, bool movedName) =>
        ReferenceEquals(Environment, environment) && MovedName == movedName &&
        string.Equals(OriginalPath.Value, originalPath.Value, StringComparison.Ordinal) &&
        string.Equals(OriginalPathBase.Value, originalPathBase.Value, StringComparison.Ordinal);
}
