using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Trac.Hosting;
using Trac.Hosting.Diagnostics;
using Trac.Hosting.Login;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Adds password-file logins (htpasswd with Basic, htdigest with Digest), as tracd's <c>--basic-auth</c> and
/// <c>--auth</c> and the guides' <c>AuthUserFile</c> do them.
/// </summary>
public static class TracLoginAuthenticationBuilderExtensions
{
    /// <summary>
    /// Adds the password-file authentication scheme, named <see cref="TracLoginDefaults.AuthenticationScheme"/>, with
    /// the files of <c>Trac:Login</c> (<see cref="LoginOptions"/>). The remote-user stage of <c>UseTrac</c> checks the
    /// credentials and challenges on the login paths; no <c>UseAuthentication()</c> is needed for that.
    /// </summary>
    /// <param name="builder">The authentication builder, from <c>builder.Services.AddAuthentication()</c>.</param>
    /// <returns>The authentication builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">The scheme was already added.</exception>
    public static AuthenticationBuilder AddTracLogin(this AuthenticationBuilder builder) =>
        builder.AddTracLogin(TracLoginDefaults.AuthenticationScheme);

    /// <summary>
    /// Adds the password-file authentication scheme under the name <paramref name="authenticationScheme"/>, with the
    /// files of <c>Trac:Login</c> (<see cref="LoginOptions"/>).
    /// </summary>
    /// <param name="builder">The authentication builder, from <c>builder.Services.AddAuthentication()</c>.</param>
    /// <param name="authenticationScheme">The name of the scheme.</param>
    /// <returns>The authentication builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="authenticationScheme"/> is empty or white space.</exception>
    /// <exception cref="InvalidOperationException">The scheme was already added (one per application).</exception>
    public static AuthenticationBuilder AddTracLogin(this AuthenticationBuilder builder, string authenticationScheme)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(authenticationScheme);
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(TracLogins)))
        {
            throw new InvalidOperationException(
                "AddTracLogin() was already called: one password-file scheme serves every project; list the files under Trac:Login:Files.");
        }

        services.AddTrac();
        services.AddSingleton(sp => new TracLogins(
            authenticationScheme,
            sp.GetRequiredService<IOptions<TracOptions>>().Value.Login,
            sp.GetService<IHostEnvironment>()?.ContentRootPath ?? Directory.GetCurrentDirectory(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("Trac.Hosting.Login"),
            sp.GetRequiredService<TracMetrics>()));
        services.AddTransient<TracLoginHandler>();
        services.Configure<AuthenticationOptions>(options => options.AddScheme(authenticationScheme, scheme =>
        {
            scheme.HandlerType = typeof(TracLoginHandler);
            scheme.DisplayName = "Trac password file";
        }));
        return builder;
    }
}
