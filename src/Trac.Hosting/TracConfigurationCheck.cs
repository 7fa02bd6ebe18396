using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Trac.Hosting;

/// <summary>
/// Checks the <c>Trac</c> configuration section against <see cref="TracOptions"/> before it is bound, so that what the
/// binder would ignore or misread stops start-up with the key and the fix: an unknown key (and the nearest valid one),
/// a duration written as a bare number (which .NET reads as days), a value that is not of its option's type, an enum
/// value not in its list, a single value where a list or section is expected.
/// </summary>
internal static class TracConfigurationCheck
{
    /// <summary>Throws when <paramref name="section"/> has problems, listing each.</summary>
    /// <exception cref="InvalidOperationException">The section has keys or values the options cannot take.</exception>
    public static void ThrowIfInvalid(IConfiguration section, string path)
    {
        var problems = new List<string>();
        CheckObject(section, typeof(TracOptions), path, problems);
        if (problems.Count > 0)
        {
            throw new InvalidOperationException(
                $"The {path} configuration has {(problems.Count == 1 ? "a problem" : problems.Count + " problems")}; fix {(problems.Count == 1 ? "it" : "them")} and start again:" +
                Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "- " + p)));
        }
    }

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Reads the public properties of TracOptions and its option types, which the configuration binder's generated code references, so trimming keeps them.")]
    private static void CheckObject(IConfiguration section, Type type, string path, List<string> problems)
    {
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0)
            .ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        foreach (var child in section.GetChildren())
        {
            var key = $"{path}:{child.Key}";
            if (!properties.TryGetValue(child.Key, out var property))
            {
                problems.Add($"{key} is not an option{Nearest(child.Key, properties.Keys)}.");
                continue;
            }

            CheckValue(child, property.PropertyType, key, problems);
        }
    }

    private static void CheckValue(IConfigurationSection section, Type type, string key, List<string> problems)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        var hasChildren = section.GetChildren().Any();
        if (typeof(Delegate).IsAssignableFrom(underlying))
        {
            problems.Add($"{key} can only be set in code (it is a delegate).");
        }
        else if (IsScalar(underlying))
        {
            if (hasChildren)
            {
                problems.Add($"{key} is a single value, not a section.");
            }
            else if (section.Value is { Length: > 0 } value && ValueProblem(value, underlying) is { } problem)
            {
                problems.Add($"{key} '{value}' {problem}.");
            }
        }
        else if (ElementType(underlying, typeof(IDictionary<,>)) is { } valueType)
        {
            foreach (var entry in section.GetChildren())
            {
                CheckValue(entry, valueType, $"{key}:{entry.Key}", problems);
            }
        }
        else if (ElementType(underlying, typeof(IList<>)) is { } itemType)
        {
            if (!hasChildren && section.Value is { Length: > 0 })
            {
                problems.Add($"{key} is a list: give its items as {key}:0, {key}:1, ... (in JSON, an array).");
            }

            foreach (var item in section.GetChildren())
            {
                if (!int.TryParse(item.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    problems.Add($"{key}:{item.Key} is not an item of the list {key}: number its items {key}:0, {key}:1, ...");
                    continue;
                }

                CheckValue(item, itemType, $"{key}:{item.Key}", problems);
            }
        }
        else if (!hasChildren && section.Value is { Length: > 0 })
        {
            problems.Add($"{key} is a section of options, not a single value.");
        }
        else
        {
            CheckObject(section, underlying, key, problems);
        }
    }

    private static bool IsScalar(Type type) =>
        type == typeof(string) || type.IsPrimitive || type.IsEnum || type == typeof(TimeSpan) || type == typeof(decimal);

    private static string? ValueProblem(string value, Type type)
    {
        var invariant = CultureInfo.InvariantCulture;
        if (type == typeof(TimeSpan))
        {
            if (double.TryParse(value, NumberStyles.Float, invariant, out _))
            {
                // TimeSpan.Parse reads "30" as 30 days: almost never what a bare number meant.
                return "is a bare number, which would be read as days; write a duration such as '00:00:30' (30 seconds), '00:05:00' (5 minutes) or '1.00:00:00' (1 day)";
            }

            return TimeSpan.TryParse(value, invariant, out _) ? null : "is not a duration; write one such as '00:00:30' (30 seconds), '00:05:00' (5 minutes) or '1.00:00:00' (1 day)";
        }

        if (type.IsEnum)
        {
            var names = Enum.GetNames(type);
            return names.Any(n => string.Equals(n, value.Trim(), StringComparison.OrdinalIgnoreCase)) ? null : $"is not one of {string.Join(", ", names)}";
        }

        return type switch
        {
            _ when type == typeof(bool) => bool.TryParse(value, out _) ? null : "is not true or false",
            _ when type == typeof(int) => int.TryParse(value, NumberStyles.Integer, invariant, out _) ? null : "is not a whole number",
            _ when type == typeof(long) => long.TryParse(value, NumberStyles.Integer, invariant, out _) ? null : "is not a whole number",
            _ when type == typeof(double) => double.TryParse(value, NumberStyles.Float, invariant, out _) ? null : "is not a number",
            _ => null,
        };
    }

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Reads the public properties of TracOptions and its option types, which the configuration binder's generated code references, so trimming keeps them.")]
    private static Type? ElementType(Type type, Type generic)
    {
        var match = type.IsGenericType && type.GetGenericTypeDefinition() == generic
            ? type
            : type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == generic);
        return match?.GetGenericArguments()[^1];
    }

    private static string Nearest(string key, IEnumerable<string> valid)
    {
        var names = valid.Order(StringComparer.Ordinal).ToList();
        var (best, distance) = names.Select(n => (n, Distance(key.ToUpperInvariant(), n.ToUpperInvariant()))).MinBy(c => c.Item2);
        return best is not null && distance <= Math.Max(2, key.Length / 3)
            ? $"; did you mean {best}?"
            : $"; the options here are {string.Join(", ", names)}";
    }

    // Levenshtein distance.
    private static int Distance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            previous = current;
        }

        return previous[b.Length];
    }
}
