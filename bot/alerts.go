package bot

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// DefaultAlertDays are the days-left thresholds at which a subscription is
// alerted (KAIZALA_ALERT_DAYS).
var DefaultAlertDays = []int{90, 60, 30, 14, 7, 3, 1}

// ParseAlertDays reads a comma-separated list of days, e.g. "90,30,7".
func ParseAlertDays(s string) ([]int, error) {
	var days []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 || n > 3650 {
			return nil, fmt.Errorf("%q is not a number of days from 0 to 3650", part)
		}
		if !slices.Contains(days, n) {
			days = append(days, n)
		}
	}
	if len(days) == 0 {
		return nil, fmt.Errorf("no days given")
	}
	slices.Sort(days)
	slices.Reverse(days)
	return days, nil
}

// AlertThreshold is the threshold a finding has crossed most recently: the
// smallest of days that daysLeft has reached. A subscription already past
// its end has crossed them all (threshold 0, "ended"). ok is false when
// daysLeft is above every threshold.
//
// One alert is sent per (subscription, threshold), so a subscription first
// seen 25 days before its end gets one alert (30), then one at 14, 7, 3, 1.
func AlertThreshold(daysLeft int, days []int) (threshold int, ok bool) {
	if daysLeft < 0 {
		return 0, true
	}
	best := -1
	for _, d := range days {
		if daysLeft <= d && (best < 0 || d < best) {
			best = d
		}
	}
	if best < 0 {
		return 0, false
	}
	return best, true
}
