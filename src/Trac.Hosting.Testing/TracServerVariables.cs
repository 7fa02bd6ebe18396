using Microsoft.AspNetCore.Http.Features;
using Trac.Hosting.Common;

namespace Trac.Hosting.Testing;

/// <summary>
/// Server variables as IIS or HTTP.sys would give them (<c>REMOTE_USER</c>, <c>trac.env_path</c>,
/// <c>PYTHON_EGG_CACHE</c>): set an instance as the request's <see cref="IServerVariablesFeature"/>. Names compare
/// case-insensitively; a missing variable reads as <see langword="null"/>.
/// </summary>
public sealed class TracServerVariables : Dictionary<string, string?>, IServerVariablesFeature
{
    /// <summary>Creates an empty set of server variables.</summary>
    public TracServerVariables()
        : base(StringComparer.OrdinalIgnoreCase)
    {
    }

    string? IServerVariablesFeature.this[string variableName]
    {
        get => TryGetValue(variableName, out var value) ? value : null;
        set => this[variableName] = value;
    }
}
