using Microsoft.AspNetCore.Http.Features;
using Trac.Hosting.Common;

namespace Trac.Hosting.Testing;

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
