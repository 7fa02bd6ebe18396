using Trac.Hosting.Workers;

namespace Trac.Hosting.Tests.Workers;

/// <summary>What the static resources refuse before any file is looked up: whatever could climb out of <c>htdocs</c>.</summary>
public sealed class TracStaticResourcesTests
{
    [Theory]
    [InlineData("/../conf/trac.ini")]
    [InlineData("/css/../../conf/trac.ini")]
    [InlineData("/./css/trac.css")]
    [InlineData("/..%2Fconf%2Ftrac.ini")]
    [InlineData("/..%2fconf")]
    [InlineData("/..%5Cconf")]
    [InlineData("/..\\conf\\trac.ini")]
    [InlineData("/css/trac.css\0.png")]
    public void PathsThatCouldLeaveTheFolder_AreRefused(string rest) => Assert.True(TracStaticResources.IsTraversal(rest));

    [Theory]
    [InlineData("/css/trac.css")]
    [InlineData("/js/jquery.js")]
    [InlineData("/dots..in..names.txt")]
    [InlineData("/guide/.hidden-looking")]
    public void OrdinaryPaths_AreServed(string rest) => Assert.False(TracStaticResources.IsTraversal(rest));
}
