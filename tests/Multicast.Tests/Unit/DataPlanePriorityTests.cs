using Multicast.Linux;
using NUnit.Framework;

namespace Multicast.Tests.Unit;

/// <summary>--nice N | BASE:BOOST, and the boost decision the ring's receive loop makes with it.</summary>
[TestFixture]
public class DataPlanePriorityTests
{
    [Test]
    public void ParsesAFixedValueOrABaseAndABoost()
    {
        Assert.That(DataPlanePriority.Parse("5"), Is.EqualTo(DataPlanePriority.Fixed(5)));
        Assert.That(DataPlanePriority.Parse("-20").Switches, Is.False);
        Assert.That(DataPlanePriority.Parse("0:-10"), Is.EqualTo(new DataPlanePriority(0, -10)));
        Assert.That(DataPlanePriority.Parse("-5:-5"), Is.EqualTo(DataPlanePriority.Fixed(-5)));
        Assert.That(DataPlanePriority.Default, Is.EqualTo(new DataPlanePriority(0, -10)));
        Assert.That(DataPlanePriority.Default.Switches, Is.True);
    }

    [TestCase("20")]
    [TestCase("1.5")]
    [TestCase("low")]
    [TestCase("")]
    [TestCase("0:")]
    [TestCase("0:-21")]
    [TestCase("0:-5:-10")]
    [TestCase("-10:0")]
    public void RefusesWhatIsNotANiceValueOrABoostBelowItsBase(string text) =>
        Assert.That(() => DataPlanePriority.Parse(text), Throws.ArgumentException.With.Message.Contains(text));

    [Test]
    public void RoundTripsThroughItsText()
    {
        foreach (string text in new[] { "0:-10", "7", "-3:-19", "19" })
            Assert.That(DataPlanePriority.Parse(text).ToString(), Is.EqualTo(text));
        Assert.That(DataPlanePriority.Describe(DataPlanePriority.Default), Is.EqualTo("0, -10 while a backlog drains"));
        Assert.That(DataPlanePriority.Describe(DataPlanePriority.Fixed(-10)), Is.EqualTo("-10"));
        Assert.That(DataPlanePriority.Describe(null), Is.EqualTo("as started"));
    }

    [Test]
    public void BoostsOnABacklogAndDropsBackOnlyWhenTheLoopParks()
    {
        var boost = new BacklogBoost(new DataPlanePriority(0, -10));
        Assert.That(boost.OnWalk(1), Is.Null, "one frame: keeping up");
        Assert.That(boost.OnWalk(DataPlanePriority.BacklogFrames - 1), Is.Null);
        Assert.That(boost.OnPark(), Is.Null, "never raised: nothing to lower");
        Assert.That(boost.OnWalk(DataPlanePriority.BacklogFrames), Is.EqualTo(-10), "a backlog raises the priority");
        Assert.That(boost.Boosted, Is.True);
        Assert.That(boost.OnWalk(64), Is.Null, "already raised: no second call");
        Assert.That(boost.OnWalk(0), Is.Null, "an empty walk alone is not the end of a burst");
        Assert.That(boost.OnWalk(2), Is.Null, "still draining: stays raised");
        Assert.That(boost.OnPark(), Is.EqualTo(0), "parking: back to the base");
        Assert.That(boost.OnPark(), Is.Null);
        Assert.That(boost.OnWalk(30), Is.EqualTo(-10));
        Assert.That(boost.Boosts, Is.EqualTo(2));
    }

    [Test]
    public void AFixedPriorityNeverSwitches()
    {
        var boost = new BacklogBoost(DataPlanePriority.Fixed(-10));
        Assert.That(boost.OnWalk(64), Is.Null);
        Assert.That(boost.OnPark(), Is.Null);
        Assert.That(boost.Boosts, Is.Zero);
    }
}
