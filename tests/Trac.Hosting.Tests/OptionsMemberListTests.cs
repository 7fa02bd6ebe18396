using System.Collections;
using System.Linq.Expressions;
using System.Reflection;
using Trac.Hosting.Environments;
using Trac.Hosting.PluginCache;
using Trac.Hosting.RemoteUser;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Tests;

/// <summary>
/// The options classes keep hand-written member lists: <c>Clone()</c> (each stage takes a copy of its options) and
/// <c>IsDefault()</c> (whether a stage was configured). These fail when an option is added and a list is not: every
/// public option, set to something other than its default, must survive a clone and make the options non-default.
/// </summary>
public sealed class OptionsMemberListTests
{
    public static TheoryData<string> Options() => new() { nameof(EnvironmentOptions), nameof(RemoteUserOptions), nameof(PluginCacheOptions), nameof(WorkerOptions),
        nameof(Hosting.FastCgi.TracProcessOptions), nameof(Hosting.FastCgi.FastCgiOptions), nameof(Hosting.Login.LoginOptions), nameof(Hosting.Login.PasswordFileOptions) };

    public static TheoryData<string> OptionsWithIsDefault() => new() { nameof(RemoteUserOptions), nameof(PluginCacheOptions), nameof(WorkerOptions), nameof(Hosting.Login.LoginOptions) };

    [Theory]
    [MemberData(nameof(Options))]
    public void Clone_CopiesEveryOption(string type)
    {
        foreach (var property in PropertiesOf(type))
        {
            var options = Create(type);
            var changed = Change(options, property);

            var clone = Invoke(options, "Clone");

            Assert.NotSame(options, clone);
            Assert.True(Same(changed, property.GetValue(clone)), $"{type}.Clone() does not copy {property.Name}.");
            if (property.GetValue(options) is IList or IDictionary)
            {
                // A copy of the list, not the list itself: a stage's copy does not change with the options.
                Assert.NotSame(property.GetValue(options), property.GetValue(clone));
            }
        }
    }

    [Theory]
    [MemberData(nameof(OptionsWithIsDefault))]
    public void IsDefault_SeesEveryOption(string type)
    {
        Assert.True((bool)Invoke(Create(type), "IsDefault")!, $"A new {type} is not default.");
        foreach (var property in PropertiesOf(type))
        {
            var options = Create(type);
            Change(options, property);

            Assert.False((bool)Invoke(options, "IsDefault")!, $"{type}.IsDefault() does not look at {property.Name}.");
        }
    }

    private static Type TypeOf(string name) =>
        typeof(TracOptions).Assembly.GetTypes().Single(t => t.Name == name && t.IsPublic);

    private static object Create(string type) => Activator.CreateInstance(TypeOf(type))!;

    private static object? Invoke(object options, string method) =>
        options.GetType().GetMethod(method, BindingFlags.Instance | BindingFlags.NonPublic)!.Invoke(options, null);

    private static PropertyInfo[] PropertiesOf(string type)
    {
        var properties = TypeOf(type).GetProperties(BindingFlags.Instance | BindingFlags.Public)
            .Where(p => p.CanWrite || typeof(IList).IsAssignableFrom(p.PropertyType) ||
                p.PropertyType.IsGenericType && p.PropertyType.GetGenericTypeDefinition() is var generic && (generic == typeof(IList<>) || generic == typeof(IDictionary<,>)))
            .ToArray();
        Assert.NotEmpty(properties);
        return properties;
    }

    /// <summary>Gives the option a value other than its default and returns what it now holds.</summary>
    private static object? Change(object options, PropertyInfo property)
    {
        var current = property.GetValue(options);
        if (current is IDictionary dictionary)
        {
            // A keyed option (process variables, a file per project): a text, or an entry whose own options are not their defaults.
            var valueType = property.PropertyType.GetGenericArguments()[1];
            var entry = valueType == typeof(string) ? "changed" : Create(valueType.Name);
            foreach (var member in entry.GetType().GetProperties().Where(p => p.CanWrite))
            {
                member.SetValue(entry, Other(member.PropertyType, member.GetValue(entry)));
            }

            dictionary.Add("changed", entry);
            return current;
        }

        if (!property.CanWrite)
        {
            var list = (IList)current!;
            list.Add(Other(property.PropertyType.GetGenericArguments()[0], null));
            return current;
        }

        var value = Other(property.PropertyType, current);
        property.SetValue(options, value);
        return value;
    }

    private static object Other(Type type, object? current)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        return underlying switch
        {
            _ when underlying == typeof(bool) => current is true ? false : true,
            _ when underlying == typeof(int) => (current is int i ? i : 0) + 7,
            _ when underlying == typeof(long) => (current is long l ? l : 0) + 7,
            _ when underlying == typeof(double) => (current is double d ? d : 0) + 7,
            _ when underlying == typeof(TimeSpan) => (current is TimeSpan t ? t : TimeSpan.Zero) + TimeSpan.FromSeconds(7),
            _ when underlying == typeof(string) => (current as string) + "-changed",
            _ when underlying.IsEnum => Enum.GetValues(underlying).Cast<object>().First(v => !v.Equals(current)),
            _ when typeof(Delegate).IsAssignableFrom(underlying) => NoOp(underlying),
            _ => throw new InvalidOperationException($"No test value for an option of type {type}: add one here."),
        };
    }

    private static Delegate NoOp(Type delegateType)
    {
        var invoke = delegateType.GetMethod("Invoke")!;
        var parameters = invoke.GetParameters().Select(p => Expression.Parameter(p.ParameterType)).ToArray();
        return Expression.Lambda(delegateType, Expression.Default(invoke.ReturnType), parameters).Compile();
    }

    private static bool Same(object? expected, object? actual) => (expected, actual) switch
    {
        (IList list, IList copy) => list.Cast<object>().SequenceEqual(copy.Cast<object>()),
        // Entries copied, not shared, with every member of each entry.
        (IDictionary map, IDictionary copy) => map.Count == copy.Count && map.Keys.Cast<object>().All(key =>
            copy.Contains(key) && (map[key] is string ? Equals(map[key], copy[key]) : !ReferenceEquals(map[key], copy[key]) &&
            map[key]!.GetType().GetProperties().All(p => Equals(p.GetValue(map[key]), p.GetValue(copy[key]))))),
        _ => Equals(expected, actual),
    };
}
