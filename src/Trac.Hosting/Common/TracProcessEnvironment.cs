namespace Trac.Hosting.Common;

/// <summary>
/// Reads the process variables Trac's front ends read (<c>TRAC_ENV</c>, ...). A service, so tests can supply
/// their own values without changing the process-wide environment.
/// </summary>
internal class TracProcessEnvironment
{
    public virtual string? GetVariable(string name) => Environment.GetEnvironmentVariable(name);
}
