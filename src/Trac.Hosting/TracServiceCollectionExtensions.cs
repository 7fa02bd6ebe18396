using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Trac.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers the services of Trac hosting.
/// </summary>
public static class TracServiceCollectionExtensions
{
    /// <summary>
    /// Adds the services <c>app.UseTrac(...)</c> needs, with options from code or from the process variables
    /// (<c>TRAC_ENV</c>, <c>TRAC_ENV_PARENT_DIR</c>, ...).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns>The service collection, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    public static IServiceCollection AddTrac(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<TracOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TracOptions>, TracOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<TracProcessEnvironment>();
        services.TryAddSingleton<TracMarkerService>();
        return services;
    }

    /// <summary>
    /// Adds the services <c>app.UseTrac(...)</c> needs, with options bound from a configuration section, normally
    /// <c>builder.Configuration.GetSection("Trac")</c> (keys such as <c>Environment:ParentDirectory</c>).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The <c>Trac</c> configuration section.</param>
    /// <returns>The service collection, for chaining.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static IServiceCollection AddTrac(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddTrac();
        services.Configure<TracOptions>(configuration);
        return services;
    }

    /// <summary>
    /// Adds the services <c>app.UseTrac(...)</c> needs, with options set in code.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The service collection, for chaining.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static IServiceCollection AddTrac(this IServiceCollection services, Action<TracOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddTrac();
        services.Configure(configure);
        return services;
    }
}
