namespace Trac.Hosting.Common;

/// <summary>
/// One stage of a Trac pipeline: which it is, which stages it needs before it, and how it adds itself to the
/// application. Each stage lives in its own folder and wires its own services; the pipeline builder only orders them.
/// </summary>
internal interface ITracStage
{
    /// <summary>Gets which stage this is; stages run in the order of <see cref="TracStage"/>.</summary>
    TracStage Stage { get; }

    /// <summary>Gets the stages that must be added before this one.</summary>
    IReadOnlyList<TracStage> Requires { get; }

    /// <summary>Adds the stage's middleware; what it builds for later stages goes into the context.</summary>
    void Apply(TracPipelineContext context);
}
