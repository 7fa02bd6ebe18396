using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Trac.Hosting;
using Trac.Hosting.RemoteUser;
using Trac.Hosting.Workers;
using Trac.Hosting.Common;

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
        if (services.Any(d => d.ServiceType == typeof(TracMarkerService)))
        {
            return services;
        }

        services.AddSingleton<TracMarkerService>();
        services.AddSingleton(sp => new Trac.Hosting.Diagnostics.TracMetrics(
            sp.GetService<System.Diagnostics.Metrics.IMeterFactory>(), sp.GetRequiredService<IOptions<TracOptions>>().Value.Telemetry.ProjectAttribute));
        // What each stage needs from the host's services, registered by the stage.
        RemoteUserStage.AddServices(services);
        WorkerStage.AddServices(services);
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
        services.AddOptions<TracOptions>().Configure(options =>
        {
            // Checked before binding: the binder skips unknown keys silently and reads a bare "30" as 30 days.
            TracConfigurationCheck.ThrowIfInvalid(configuration, configuration is IConfigurationSection section ? section.Path : "Trac");
            configuration.Bind(options);
        });
        services.AddSingleton<IOptionsChangeTokenSource<TracOptions>>(new ConfigurationChangeTokenSource<TracOptions>(Options.Options.DefaultName, configuration));
        services.PostConfigure<TracOptions>(options =>
        {
            foreach (var section in configuration.GetChildren())
            {
                options.ConfiguredSections.Add(section.Key);
            }
        });
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
