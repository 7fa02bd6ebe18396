using Microsoft.AspNetCore.Http;

namespace Trac.Hosting.Environments;

/// <summary>
/// The result of environment resolution for one request, in <see cref="HttpContext.Features"/>.
/// </summary>
public interface ITracEnvironmentFeature
{
    /// <summary>Gets the environment the request is for.</summary>
    TracEnvironment Environment { get; }

    /// <summary>Gets the request's <c>PathBase</c> before the environment name was moved into it.</summary>
    PathString OriginalPathBase { get; }

    /// <summary>Gets the request's <c>Path</c> before the environment name was moved out of it.</summary>
    PathString OriginalPath { get; }
}
