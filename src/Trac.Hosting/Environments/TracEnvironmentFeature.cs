using Microsoft.AspNetCore.Http;

namespace Trac.Hosting.Environments;

internal sealed class TracEnvironmentFeature(TracEnvironment environment, PathString originalPathBase, PathString originalPath)
    : ITracEnvironmentFeature
{
    public TracEnvironment Environment { get; } = environment;

    public PathString OriginalPathBase { get; } = originalPathBase;

    public PathString OriginalPath { get; } = originalPath;
}
