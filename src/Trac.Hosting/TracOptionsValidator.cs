using Microsoft.Extensions.Options;
using Trac.Hosting.Environments;
using Trac.Hosting.Login;
using Trac.Hosting.PluginCache;
using Trac.Hosting.RemoteUser;

namespace Trac.Hosting;

/// <summary>Validates <see cref="TracOptions"/> at start-up, with messages that name the key to fix.</summary>
internal sealed class TracOptionsValidator : IValidateOptions<TracOptions>
{
    public ValidateOptionsResult Validate(string? name, TracOptions options)
    {
        var errors = EnvironmentSettings.Validate(options.Environment);
        errors.AddRange(RemoteUserSettings.Validate(options.RemoteUser));
        errors.AddRange(LoginSettings.Validate(options.Login));
        errors.AddRange(PluginCacheSettings.Validate(options.PluginCache));
        errors.AddRange(options.Workers.Validate());
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
