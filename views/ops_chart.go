package views

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// ChartHour is one hour of deliveries by outcome, as the overview chart draws it.
type ChartHour struct {
	Start                         time.Time
	Accepted, Duplicate, Rejected int64
}

// Total is every delivery of the hour.
func (h ChartHour) Total() int64 { return h.Accepted + h.Duplicate + h.Rejected }

// Chart is a stacked bar chart laid out in SVG user units, ready to draw.
type Chart struct {
	ViewBox string
	Title   string
	Desc    string
	// Plot area edges.
	Left, Right, Top, Bottom string
	Bars                     []ChartBar
	YTicks                   []ChartTick
	XLabels                  []ChartTick
	Legend                   []ChartLegend
	Hours                    []ChartHour
	Empty                    bool
}

// ChartBar is one hour's stack; Title is its accessible description.
type ChartBar struct {
	Title    string
	Segments []ChartSegment
}

// ChartSegment is one coloured rectangle of a stack.
type ChartSegment struct {
	X, Y, W, H string
	Class      string
}

// ChartTick is an axis label at a position (Y for the value axis, X for the time axis).
type ChartTick struct {
	Pos   string
	Label string
}

// ChartLegend names a colour.
type ChartLegend struct {
	Class, Label string
	Total        int64
}

const (
	chartWidth   = 720.0
	chartHeight  = 220.0
	chartLeft    = 44.0
	chartRight   = 712.0
	chartTop     = 10.0
	chartBottom  = 192.0
	chartBarFill = 0.72 // share of an hour's slot the bar covers
)

func svgNum(f float64) string { return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64) }

// niceStep rounds a raw tick step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 1 {
		return 1
	}
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*pow {
			return m * pow
		}
	}
	return 10 * pow
}

// NewDeliveryChart lays out deliveries per hour as stacked bars: accepted at the bottom, then
// duplicate, then rejected, with a value axis of round numbers and a label every third hour.
func NewDeliveryChart(hours []ChartHour) Chart {
	c := Chart{
		ViewBox: fmt.Sprintf("0 0 %d %d", int(chartWidth), int(chartHeight)),
		Title:   "Deliveries per hour, last 24 hours (UTC)",
		Left:    svgNum(chartLeft), Right: svgNum(chartRight), Top: svgNum(chartTop), Bottom: svgNum(chartBottom),
		Hours: hours,
	}
	var peak, acc, dup, rej int64
	for _, h := range hours {
		peak = max(peak, h.Total())
		acc, dup, rej = acc+h.Accepted, dup+h.Duplicate, rej+h.Rejected
	}
	c.Empty = peak == 0
	c.Legend = []ChartLegend{
		{"chart-accepted", "Accepted", acc},
		{"chart-duplicate", "Duplicate", dup},
		{"chart-rejected", "Rejected", rej},
	}
	c.Desc = fmt.Sprintf("%s accepted, %s duplicate and %s rejected deliveries in the last %d hours; the busiest hour had %s.",
		FormatCount(acc), FormatCount(dup), FormatCount(rej), len(hours), FormatCount(peak))

	step := niceStep(float64(peak) / 4)
	top := step * math.Max(1, math.Ceil(float64(peak)/step))
	scale := (chartBottom - chartTop) / top
	for v := 0.0; v <= top+step/2; v += step {
		c.YTicks = append(c.YTicks, ChartTick{Pos: svgNum(chartBottom - v*scale), Label: FormatCount(int64(v))})
	}
	if len(hours) == 0 {
		return c
	}
	slot := (chartRight - chartLeft) / float64(len(hours))
	w := slot * chartBarFill
	for i, h := range hours {
		x := chartLeft + float64(i)*slot + (slot-w)/2
		y := chartBottom
		bar := ChartBar{Title: fmt.Sprintf("%s–%s UTC: %s accepted, %s duplicate, %s rejected",
			h.Start.UTC().Format("Jan 2 15:04"), h.Start.Add(time.Hour).UTC().Format("15:04"),
			FormatCount(h.Accepted), FormatCount(h.Duplicate), FormatCount(h.Rejected))}
		for _, part := range []struct {
			n     int64
			class string
		}{{h.Accepted, "chart-accepted"}, {h.Duplicate, "chart-duplicate"}, {h.Rejected, "chart-rejected"}} {
			if part.n == 0 {
				continue
			}
			hgt := float64(part.n) * scale
			y -= hgt
			bar.Segments = append(bar.Segments, ChartSegment{X: svgNum(x), Y: svgNum(y), W: svgNum(w), H: svgNum(hgt), Class: part.class})
		}
		if len(bar.Segments) == 0 {
			// An empty hour keeps a hairline, so its tooltip can still be reached.
			bar.Segments = []ChartSegment{{X: svgNum(x), Y: svgNum(chartBottom - 1), W: svgNum(w), H: "1", Class: "chart-none"}}
		}
		c.Bars = append(c.Bars, bar)
		if (len(hours)-1-i)%3 == 0 {
			c.XLabels = append(c.XLabels, ChartTick{Pos: svgNum(x + w/2), Label: h.Start.UTC().Format("15:04")})
		}
	}
	return c
}
