namespace Trac.Hosting.Login;

/// <summary>
/// Options of password-file logins (<c>AddAuthentication().AddTracLogin()</c>): which htpasswd or htdigest file
/// checks the users of each project, and how failed attempts are throttled. Bound from the <c>Trac:Login</c>
/// configuration section.
/// </summary>
/// <remarks>
/// A login is asked for on the login paths only (<see cref="RemoteUser.RemoteUserOptions.LoginPaths"/>, tracd's rule),
/// so anonymous browsing stays anonymous; Trac then keeps the user logged in with its own cookie.
/// </remarks>
public sealed class LoginOptions
{
    /// <summary>The key of <see cref="Files"/> that serves every project without a file of its own (tracd's <c>*</c>).</summary>
    public const string AnyProject = "*";

    /// <summary>
    /// Gets the password files, keyed by project (environment) name, or <c>*</c> for every project without its own
    /// (<c>Trac:Login:Files:*:Path</c>, <c>Trac:Login:Files:alpha:Path</c>). In single-environment mode the project
    /// is the environment's directory name, as for tracd's <c>-s</c>. Names are compared ignoring case, as
    /// configuration keys are.
    /// </summary>
    /// <value>Empty; <c>AddTracLogin()</c> then stops start-up, asking for at least one file.</value>
    public IDictionary<string, PasswordFileOptions> Files { get; } = new Dictionary<string, PasswordFileOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Gets or sets how many failed logins a client address, and separately a user name, may have before further
    /// attempts are refused with <c>429 Too Many Requests</c> (before any password is checked).
    /// </summary>
    /// <value>10.</value>
    public int MaxFailures { get; set; } = 10;

    /// <summary>
    /// Gets or sets how long it takes for one failed login to be forgiven; a throttled client is told to retry after it.
    /// </summary>
    /// <value>30 seconds.</value>
    public TimeSpan FailurePeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets how long a Digest nonce is accepted; after that the client is challenged again with
    /// <c>stale=true</c> and answers without asking the user.
    /// </summary>
    /// <value>5 minutes.</value>
    public TimeSpan NonceLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Gets or sets how long a verified user name and password is remembered (as a keyed hash), so that a bcrypt file
    /// does not cost a hash on every request of a logged-in user. <see cref="TimeSpan.Zero"/> checks every time. A
    /// change of the file forgets them all.
    /// </summary>
    /// <value>2 minutes.</value>
    public TimeSpan VerifiedLoginLifetime { get; set; } = TimeSpan.FromMinutes(2);

    internal LoginOptions Clone()
    {
        var clone = new LoginOptions
        {
            MaxFailures = MaxFailures,
            FailurePeriod = FailurePeriod,
            NonceLifetime = NonceLifetime,
            VerifiedLoginLifetime = VerifiedLoginLifetime,
        };
        foreach (var (project, file) in Files)
        {
            clone.Files[project] = file.Clone();
        }

        return clone;
    }

    /// <summary>Returns whether every option still has its default value (nothing was configured).</summary>
    internal bool IsDefault()
    {
        var defaults = new LoginOptions();
        return Files.Count == 0 && MaxFailures == defaults.MaxFailures && FailurePeriod == defaults.FailurePeriod &&
            NonceLifetime == defaults.NonceLifetime && VerifiedLoginLifetime == defaults.VerifiedLoginLifetime;
    }
}
