using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Trac.Hosting.Common;

namespace Trac.Hosting.Tests.Docs;

/// <summary>
/// <c>docs/configuration.md</c> follows the code: every public property of <see cref="TracOptions"/>'s sub-options has
/// a row in the key table of its <c>Trac:&lt;Section&gt;</c> section, with the default the code has and the process
/// variable its XML documentation names as fallback; and every row is an option that exists.
/// </summary>
public sealed partial class ConfigurationDocTests
{
    private static readonly Lazy<Dictionary<string, KeyTable>> Tables = new(() =>
        KeyTable.ReadAll(File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Docs", "configuration.md"))));

    private static readonly Lazy<XDocument> XmlDocs = new(() =>
        XDocument.Load(Path.ChangeExtension(typeof(TracOptions).Assembly.Location, ".xml")));

    public static TheoryData<string, string> Options()
    {
        var data = new TheoryData<string, string>();
        foreach (var (section, type) in Sections())
        {
            foreach (var option in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                data.Add(section, option.Name);
            }
        }

        return data;
    }

    [Fact]
    public void TheOptionsHaveSectionsAndProperties()
    {
        // Guards the reflection the other tests rely on: the stages' four sections, logins, the two kinds of worker process and telemetry, none of them empty.
        Assert.Equal(new[] { "Environment", "RemoteUser", "Login", "PluginCache", "Workers", "Python", "FastCgi", "Telemetry" }, Sections().Select(s => s.Section));
        Assert.All(Sections(), s => Assert.NotEmpty(s.Type.GetProperties(BindingFlags.Public | BindingFlags.Instance)));
    }

    [Theory]
    [MemberData(nameof(Options))]
    public void EveryOption_HasARowInItsSection(string section, string option)
    {
        var table = Table(section);

        Assert.True(table.Rows.ContainsKey(option),
            $"docs/configuration.md: the key table of `Trac:{section}` has no row for `{option}`.");
    }

    [Theory]
    [MemberData(nameof(Options))]
    public void EveryRow_ShowsTheDefaultTheCodeHas(string section, string option)
    {
        var property = Property(section, option);
        var cell = Cell(section, option, "Default");
        // The section's own options type: an inherited property's declaring type may be abstract.
        var value = property.GetValue(Activator.CreateInstance(typeof(TracOptions).GetProperty(section)!.PropertyType));

        switch (value)
        {
            case null when property.PropertyType == typeof(string):
                Assert.True(cell.Contains("unset", StringComparison.Ordinal),
                    $"docs/configuration.md: `Trac:{section}:{option}` is unset by default, but the Default column says '{cell}'.");
                break;
            case string or bool or int or long or double or TimeSpan or Enum:
                var expected = "`" + Format(value) + "`";
                Assert.True(cell.Contains(expected, StringComparison.Ordinal),
                    $"docs/configuration.md: `Trac:{section}:{option}` defaults to {expected}, but the Default column says '{cell}'.");
                break;
            default:
                // Lists and delegates: an empty value stands for a built-in default the row has to describe.
                Assert.False(string.IsNullOrWhiteSpace(cell), $"docs/configuration.md: `Trac:{section}:{option}` has no default.");
                break;
        }
    }

    [Theory]
    [MemberData(nameof(Options))]
    public void EveryRow_NamesTheProcessVariableTheCodeFallsBackTo(string section, string option)
    {
        var property = Property(section, option);
        var documented = ProcessVariablesInXmlDocs(property);
        var cell = Cell(section, option, "Process variable");
        var named = ProcessVariableName().Matches(cell).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);

        Assert.True(documented.SetEquals(named),
            $"docs/configuration.md: `Trac:{section}:{option}` falls back to [{string.Join(", ", documented)}] " +
            $"according to its XML documentation, but the Process variable column names [{string.Join(", ", named)}].");
    }

    [Fact]
    public void EveryRow_IsAnOptionThatExists()
    {
        foreach (var (section, type) in Sections())
        {
            foreach (var key in Table(section).Rows.Keys)
            {
                Assert.True(type.GetProperty(key, BindingFlags.Public | BindingFlags.Instance) is not null,
                    $"docs/configuration.md: `Trac:{section}:{key}` is documented but {type.Name} has no such property.");
            }
        }
    }

    private static IEnumerable<(string Section, Type Type)> Sections() =>
        typeof(TracOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => (p.Name, p.PropertyType));

    private static PropertyInfo Property(string section, string option) =>
        typeof(TracOptions).GetProperty(section)!.PropertyType.GetProperty(option)!;

    private static KeyTable Table(string section)
    {
        Assert.True(Tables.Value.TryGetValue(section, out var table),
            $"docs/configuration.md has no `## \\`Trac:{section}\\`` section with a `| Key |` table.");
        return table;
    }

    private static string Cell(string section, string option, string column)
    {
        Assert.True(Table(section).Rows.TryGetValue(option, out var row), $"docs/configuration.md: no row for `Trac:{section}:{option}`.");
        Assert.True(row.TryGetValue(column, out var cell), $"docs/configuration.md: the key table of `Trac:{section}` has no `{column}` column.");
        return cell;
    }

    private static string Format(object value) => value switch
    {
        bool b => b ? "true" : "false",
        TimeSpan t => t.ToString("c", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString()!,
    };

    /// <summary>The process variables named in the property's <c>&lt;value&gt;</c> documentation ("process variable <c>X</c>").</summary>
    private static HashSet<string> ProcessVariablesInXmlDocs(PropertyInfo property)
    {
        var name = $"P:{property.DeclaringType!.FullName}.{property.Name}";
        var member = XmlDocs.Value.Descendants("member").SingleOrDefault(m => (string?)m.Attribute("name") == name);
        Assert.True(member is not null, $"{name} has no XML documentation.");
        var value = member.Element("value");
        var text = value is null ? "" : Regex.Replace(string.Concat(value.Nodes()), @"\s+", " ");
        return XmlDocProcessVariable().Matches(text).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
    }

    [GeneratedRegex(@"process variable <c>([A-Z][A-Z0-9_]*)</c>")]
    private static partial Regex XmlDocProcessVariable();

    [GeneratedRegex(@"`([A-Z][A-Z0-9_]*_[A-Z0-9_]+)`")]
    private static partial Regex ProcessVariableName();

    /// <summary>The first table of a section whose header starts with <c>| Key |</c>: rows by key, cells by column name.</summary>
    private sealed class KeyTable
    {
        public Dictionary<string, Dictionary<string, string>> Rows { get; } = new(StringComparer.Ordinal);

        public static Dictionary<string, KeyTable> ReadAll(string[] lines)
        {
            var tables = new Dictionary<string, KeyTable>(StringComparer.Ordinal);
            string? section = null;
            for (var i = 0; i < lines.Length; i++)
            {
                var heading = Regex.Match(lines[i], @"^## `Trac:([A-Za-z]+)`");
                if (lines[i].StartsWith("## ", StringComparison.Ordinal))
                {
                    section = heading.Success ? heading.Groups[1].Value : null;
                    continue;
                }

                if (section is null || tables.ContainsKey(section) || !lines[i].StartsWith("| Key |", StringComparison.Ordinal))
                {
                    continue;
                }

                var header = Cells(lines[i]);
                var table = new KeyTable();
                for (i += 2; i < lines.Length && lines[i].StartsWith('|'); i++)
                {
                    var cells = Cells(lines[i]);
                    var key = Regex.Match(cells[0], "^`([A-Za-z]+)`");
                    Assert.True(key.Success, $"docs/configuration.md: a row of `Trac:{section}` does not start with a `Key`: {lines[i]}");
                    Assert.True(cells.Count == header.Count, $"docs/configuration.md: a row of `Trac:{section}` has {cells.Count} cells, not {header.Count}: {lines[i]}");
                    table.Rows[key.Groups[1].Value] = header.Zip(cells).ToDictionary(c => c.First, c => c.Second, StringComparer.Ordinal);
                }

                tables[section] = table;
            }

            return tables;
        }

        /// <summary>Splits a table row at the <c>|</c> that are not inside code spans.</summary>
        private static List<string> Cells(string line)
        {
            var cells = new List<string>();
            var cell = new StringBuilder();
            var inCode = false;
            foreach (var c in line.Trim().Trim('|'))
            {
                if (c == '`')
                {
                    inCode = !inCode;
                }

                if (c == '|' && !inCode)
                {
                    cells.Add(cell.ToString().Trim());
                    cell.Clear();
                }
                else
                {
                    cell.Append(c);
                }
            }

            cells.Add(cell.ToString().Trim());
            return cells;
        }
    }
}
