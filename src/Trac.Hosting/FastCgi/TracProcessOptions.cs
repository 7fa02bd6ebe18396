namespace Trac.Hosting.FastCgi;

/// <summary>
/// Options of real Trac's worker processes: Trac's own FastCGI server (<c>trac.web._fcgi</c>) run by Python, as the
/// FastCGI guide's <c>trac.fcgi</c> runs it. Bound from the <c>Trac:Python</c> configuration section; used by
/// <c>DispatchToTrac()</c>.
/// </summary>
public sealed class TracProcessOptions : FastCgiProcessOptions
{
    /// <summary>Gets or sets the Python interpreter (a path, or a name looked up on <c>PATH</c>) with Trac importable.</summary>
    /// <value><c>python3</c>; <c>python</c> on Windows.</value>
    public string Python { get; set; } = OperatingSystem.IsWindows() ? "python" : "python3";

    /// <summary>
    /// Gets directories put in front of <c>PYTHONPATH</c> for the Trac processes (mod_wsgi's <c>python-path</c>, the
    /// guides' <c>sys.path</c> edits): where Trac, or its plugins' libraries, are when they are not installed.
    /// </summary>
    public IList<string> PythonPath { get; } = [];

    /// <summary>Gets or sets the <c>LC_TIME</c> of the Trac processes (the FastCGI guide's <c>-initial-env LC_TIME=...</c>), which Trac uses to format dates.</summary>
    /// <value><see langword="null"/>: the host's.</value>
    public string? LcTime { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether <c>/&lt;project&gt;/chrome/common/...</c> is served from Trac's
    /// <c>htdocs</c> and <c>/&lt;project&gt;/chrome/site/...</c> from <c>&lt;env&gt;/htdocs</c> by the host (with
    /// <c>ETag</c>, ranges and caching headers), never through Python, as the guides' <c>alias /chrome/common</c> does.
    /// </summary>
    /// <value><see langword="true"/>.</value>
    public bool ServeStaticResources { get; set; } = true;

    /// <summary>Gets or sets Trac's <c>htdocs</c> directory, served under <c>chrome/common</c>.</summary>
    /// <value><see langword="null"/>: asked of Python once (the <c>htdocs</c> folder of the <c>trac</c> package it imports).</value>
    public string? HtdocsDirectory { get; set; }

    internal TracProcessOptions Clone()
    {
        var clone = new TracProcessOptions
        {
            Python = Python, LcTime = LcTime, ServeStaticResources = ServeStaticResources, HtdocsDirectory = HtdocsDirectory,
        };
        CopyTo(clone);
        foreach (var path in PythonPath)
        {
            clone.PythonPath.Add(path);
        }

        return clone;
    }
}
