namespace Trac.Hosting.Login;

/// <summary>Checks <see cref="LoginOptions"/>, with messages that name the key to fix.</summary>
internal static class LoginSettings
{
    private static readonly TimeSpan MaxPeriod = TimeSpan.FromDays(1);

    /// <summary>Returns the problems of <paramref name="options"/>, each naming the key to fix.</summary>
    public static List<string> Validate(LoginOptions options)
    {
        var errors = new List<string>();
        foreach (var (project, file) in options.Files)
        {
            var key = $"Trac:Login:Files:{project}";
            if (project != LoginOptions.AnyProject && !Environments.EnvironmentNames.IsValid(project, pattern: null))
            {
                errors.Add($"{key} is not a project name: use the environment's directory name, or '*' for every project without its own file.");
            }

            if (file is null || string.IsNullOrWhiteSpace(file.Path))
            {
                errors.Add($"{key}:Path is not set: give the htpasswd or htdigest file, such as '/srv/trac/htpasswd'.");
                continue;
            }

            if (!Enum.IsDefined(file.Format))
            {
                errors.Add($"{key}:Format '{file.Format}' is not one of Htpasswd, Htdigest.");
            }

            // Printable ASCII: a header value with anything else is refused by Kestrel, and every challenge would fail.
            if (string.IsNullOrWhiteSpace(file.Realm) || file.Realm.Any(c => c is < ' ' or > '~' or '"' or '\\') ||
                file.Format == PasswordFileFormat.Htdigest && file.Realm.Contains(':', StringComparison.Ordinal))
            {
                errors.Add($"{key}:Realm '{file.Realm}' cannot be a realm: it must be printable ASCII, non-empty, without quotes or backslashes (and for htdigest without ':'), such as '{PasswordFileOptions.DefaultRealm}'.");
            }
        }

        if (options.MaxFailures < 1)
        {
            errors.Add($"Trac:Login:MaxFailures {options.MaxFailures} must be at least 1 (the default is {new LoginOptions().MaxFailures}).");
        }

        if (options.FailurePeriod <= TimeSpan.Zero || options.FailurePeriod > MaxPeriod)
        {
            errors.Add($"Trac:Login:FailurePeriod {options.FailurePeriod} must be positive and at most a day, such as '00:00:30'.");
        }

        if (options.NonceLifetime <= TimeSpan.Zero || options.NonceLifetime > MaxPeriod)
        {
            errors.Add($"Trac:Login:NonceLifetime {options.NonceLifetime} must be positive and at most a day, such as '00:05:00'.");
        }

        if (options.VerifiedLoginLifetime < TimeSpan.Zero || options.VerifiedLoginLifetime > MaxPeriod)
        {
            errors.Add($"Trac:Login:VerifiedLoginLifetime {options.VerifiedLoginLifetime} must be between '00:00:00' (check every login) and a day.");
        }

        return errors;
    }
}
