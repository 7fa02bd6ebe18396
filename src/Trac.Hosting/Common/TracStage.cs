namespace Trac.Hosting.Common;

/// <summary>The stages of a Trac pipeline, in the only order they may appear.</summary>
internal enum TracStage
{
    ResolveEnvironment,
    NormalizeRemoteUser,
    UsePluginCache,
    RecycleWorkers,
    Dispatch,
}
