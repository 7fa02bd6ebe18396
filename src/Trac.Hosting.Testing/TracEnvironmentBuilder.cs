using System.Text;

namespace Trac.Hosting.Testing;

/// <summary>
/// Describes a Trac environment to create on disk: its project name and description, other
/// <c>conf/trac.ini</c> settings, static files, and the broken variants Trac reports (no <c>VERSION</c>, an
/// unknown version, no <c>trac.ini</c>).
/// </summary>
public sealed class TracEnvironmentBuilder
{
    private readonly Dictionary<string, Dictionary<string, string>> _settings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _htdocs = new(StringComparer.Ordinal);
    private string? _version = "Trac Environment Version 1";
    private bool _writeTracIni = true;
    private bool _unreadableTracIni;
    private string? _rawTracIni;
    private readonly Dictionary<string, (string Name, string Content)[]> _plugins = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _assemblyPlugins = new(StringComparer.Ordinal);

    /// <summary>Sets <c>[project] name</c> and, when given, <c>[project] descr</c>.</summary>
    /// <param name="name">The project name.</param>
    /// <param name="description">The project description.</param>
    /// <returns>This builder.</returns>
    public TracEnvironmentBuilder WithProject(string name, string? description = null)
    {
        WithSetting("project", "name", name);
        return description is null ? this : WithSetting("project", "descr", description);
    }

    /// <summary>Sets one <c>conf/trac.ini</c> option.</summary>
    /// <param name="section">The section, such as <c>trac</c>.</param>
    /// <param name="key">The option, such as <c>base_url</c>.</param>
    /// <param name="value">The value (one line).</param>
    /// <returns>This builder.</returns>
    public TracEnvironmentBuilder WithSetting(string section, string key, string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(section);
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        if (value.AsSpan().IndexOfAny('\r', '\n') >= 0)
        {
            throw new ArgumentException("An INI value is a single line.", nameof(value));
        }

        if (!_settings.TryGetValue(section, out var options))
        {
            _settings[section] = options = new Dictionary<string, string>(StringComparer.Ordinal);
        }

        options[key] = value;
        return this;
    }

    /// <summary>Writes <paramref name="content"/> as <c>conf/trac.ini</c> verbatim, instead of the settings.</summary>
    /// <param name="content">The INI text.</param>
    /// <returns>This builder.</returns>
    public TracEnvironmentBuilder WithTracIni(string content)
    {
        ArgumentNullException.ThrowIfNull(content);
        _rawTracIni = content;
        return this;
    }

    /// <summary>Writes a file under the environment's <c>htdocs</c> directory.</summary>
    /// <param name="relativePath">The path below <c>htdocs</c>, with <c>/</c> separators.</param>
    /// <param name="content">The file's text.</param>
    /// <returns>This builder.</returns>
    public TracEnvironmentBuilder WithHtdocsFile(string relativePath, string content)
    {
        ArgumentException.ThrowIfNullOrEmpty(relativePath);
        ArgumentNullException.ThrowIfNull(content);
        _htdocs[relativePath] = content;
        return this;
    }

    /// <summary>Writes a plugin archive <c>plugins/&lt;name&gt;.zip</c> holding the given files.</summary>
    /// <param name="name">The plugin's name (the archive's file name without <c>.zip</c>).</param>
    /// <param name="files">Entry names (with <c>/</c>) and their text.</param>
    /// <returns>This builder.</returns>
    public TracEnvironmentBuilder WithPlugin(string name, params (string Name, string Content)[] files)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(files);
        _plugins[name] = files;
        return this;
    }

    /// <summary>
    /// Writes a plugin archive <c>plugins/&lt;name&gt;.zip</c> holding a compiled assembly (as <c>lib/&lt;file&gt;</c>),
    /// which workers load into their plugin load context.
    /// </summary>
    /// <param name="name">The plugin's name.</param>
    /// <param name="assemblyPath">The assembly file, for example <c>typeof(MyPlugin).Assembly.Location</c>.</param>
    /// <returns>This builder.</returns>
    public TracEnvironmentBuilder WithPluginAssembly(string name, string assemblyPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(assemblyPath);
        if (!File.Exists(assemblyPath))
        {
            throw new FileNotFoundException($"The plugin assembly '{assemblyPath}' does not exist.", assemblyPath);
        }

        _assemblyPlugins[name] = assemblyPath;
        return this;
    }

    /// <summary>Writes <paramref name="firstLine"/> as the <c>VERSION</c> file, for an unknown-version environment.</summary>
    /// <param name="firstLine">The file's content.</param>
    /// <returns>This builder.</returns>
    public TracEnvironmentBuilder WithVersion(string firstLine)
    {
        ArgumentNullException.ThrowIfNull(firstLine);
        _version = firstLine;
        return this;
    }

    /// <summary>Leaves out the <c>VERSION</c> file: Trac reports "No Trac environment found at ...".</summary>
    /// <returns>This builder.</returns>
    public TracEnvironmentBuilder WithoutVersion()
    {
        _version = null;
        return this;
    }

    /// <summary>Leaves out <c>conf/trac.ini</c>: Trac reports "The configuration file is not found at ...".</summary>
    /// <returns>This builder.</returns>
    public TracEnvironmentBuilder WithoutTracIni()
    {
        _writeTracIni = false;
        return this;
    }

    /// <summary>
    /// Makes <c>conf/trac.ini</c> impossible to read (a directory of that name), for the "cannot be read" error
    /// whatever the user running the tests, root included.
    /// </summary>
    /// <returns>This builder.</returns>
    public TracEnvironmentBuilder WithUnreadableTracIni()
    {
        _unreadableTracIni = true;
        return this;
    }

    /// <summary>Creates the environment at <paramref name="path"/>.</summary>
    /// <param name="path">The environment directory; created when missing.</param>
    public void WriteTo(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        foreach (var directory in new[] { "conf", "db", "htdocs", "log", "plugins", "templates", Path.Combine("files", "attachments") })
        {
            Directory.CreateDirectory(Path.Combine(path, directory));
        }

        File.WriteAllText(Path.Combine(path, "README"), "This directory contains a Trac environment.\n");
        if (_version is not null)
        {
            File.WriteAllText(Path.Combine(path, "VERSION"), _version + "\n");
        }

        if (_unreadableTracIni)
        {
            Directory.CreateDirectory(Path.Combine(path, "conf", "trac.ini"));
        }
        else if (_writeTracIni)
        {
            File.WriteAllText(Path.Combine(path, "conf", "trac.ini"), _rawTracIni ?? RenderIni());
        }

        foreach (var (name, files) in _plugins)
        {
            TracPluginArchive.Write(Path.Combine(path, "plugins", name + ".zip"), files);
        }

        foreach (var (name, assembly) in _assemblyPlugins)
        {
            TracPluginArchive.Write(Path.Combine(path, "plugins", name + ".zip"), ("lib/" + Path.GetFileName(assembly), File.ReadAllBytes(assembly)));
        }

        foreach (var (relativePath, content) in _htdocs)
        {
            var file = Path.Combine(path, "htdocs", relativePath.Replace('/', Path.DirectorySeparatorChar));
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllText(file, content);
        }
    }

    private string RenderIni()
    {
        var ini = new StringBuilder("# -*- coding: utf-8 -*-\n");
        foreach (var (section, options) in _settings)
        {
            ini.Append('\n').Append('[').Append(section).Append("]\n");
            foreach (var (key, value) in options)
            {
                ini.Append(key).Append(" = ").Append(value).Append('\n');
            }
        }

        return ini.ToString();
    }
}
