using Microsoft.AspNetCore.Http.Features;

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

/// <summary>
/// The process variables a test host sees: only those the test set, so the machine's <c>TRAC_ENV</c> and friends
/// never reach a test host.
/// </summary>
internal sealed class TestProcessVariables : TracProcessEnvironment
{
    private readonly Dictionary<string, string?> _variables = new(StringComparer.Ordinal);

    public void Set(string name, string? value)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        _variables[name] = value;
    }

    public override string? GetVariable(string name) => _variables.GetValueOrDefault(name);
}
