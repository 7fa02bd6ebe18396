using Trac.Hosting.Environments;

namespace Trac.Hosting;

/// <summary>
/// Options for Trac hosting, bound from the <c>Trac</c> configuration section.
/// </summary>
/// <remarks>
/// Each stage has its own sub-section (<c>Trac:Environment</c>, ...). Values left unset fall back to
/// the process variables Trac's own front ends read (<c>TRAC_ENV</c>, <c>TRAC_ENV_PARENT_DIR</c>, ...);
/// see <see cref="EnvironmentOptions"/>.
/// </remarks>
public sealed class TracOptions
{
    /// <summary>
    /// Gets the options of the environment resolution stage (section <c>Trac:Environment</c>).
    /// </summary>
    public EnvironmentOptions Environment { get; } = new();
}
