package pcsim

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// reply is a finished answer. Handlers return one instead of writing, so that the idempotency store can keep
// it and fault injection can drop it after the write has been applied.
type reply struct {
	status int
	body   []byte
	header http.Header // extra headers (Retry-After, Allow, WWW-Authenticate); never stored for replays
}

func jsonReply(status int, v any) reply {
	b, err := json.Marshal(v)
	if err != nil { // every value marshalled here is built from plain structs; this is a programming error
		panic(fmt.Sprintf("pcsim: marshal %T: %v", v, err))
	}
	return reply{status: status, body: b}
}

// apiError is the documented Partner Center error body ([PC-2023] developer/error-codes.md). code is a number
// for numeric codes: the docs call it a string but their own examples send numbers.
type apiError struct {
	Code        any      `json:"code"`
	Description string   `json:"description"`
	Data        []string `json:"data"`
	Source      string   `json:"source"`
}

func errorReply(status int, code any, description string, data ...string) reply {
	if data == nil {
		data = []string{}
	}
	return jsonReply(status, apiError{Code: code, Description: description, Data: data, Source: "PartnerFD"})
}

// Error codes taken from [PC-2023] developer/error-codes.md unless marked sandbox-chosen.
const (
	codeAccessDenied       = 400    // 401 "Access denied"
	codeNotFound           = 1000   // 404 "Not found"
	codeQuantitySuspended  = 2001   // quantity change while suspended
	codeQuantityRange      = 2002   // quantity outside min/max
	codeStatusNotUpdatable = 2011   // "Subscription with ID {0} and deleted status can't be updated"
	codeEtagInvalid        = 2055   // "Etag is no longer valid" (sent with 400, see subscriptions.go)
	codeOrderNotFound      = 20000  // "Order ID not found"
	codeSubNotFound        = 20003  // "Subscription with ID {0} not found."
	codeUserNotFound       = 60002  // "User object ID isn't found"
	codeNoLicenses         = 60012  // LicenseQuotaExceededException ([PC-2023] assign-licenses-to-a-user.md)
	codeUsageLocation      = 60070  // sandbox-chosen: the real code for a missing usage location is not documented
	codeProductNotFound    = 400013 // "Product wasn't found"
	codeSkuNotFound        = 400018 // "SKU wasn't found"
	codeAvailNotFound      = 400019 // "Availability not found"
	codeLegacyNotEligible  = 500600 // cart error LegacyOfferNotEligibleForPurchase ([SDK] CartErrorCode.cs)
	codeTokenMissing       = 800001 // "Partner Token missing in request context"
	codeInvalidInput       = 800002 // "Invalid request input"
	codeServiceError       = 800003 // "Unexpected service error"
	codeInvalidOffer       = 800004 // "Invalid offer ID"
	codeCartNotFound       = 800008 // "Unable to retrieve cart ID"
	codeLineItemNumber     = 800071 // "Line Item number should be from 0 to number of line items count"
	codeStatusChange       = 800096 // "Can't update the status for this subscription"
	codeCatalogItemInvalid = 10001  // cart error CatalogItemIdIsNotValid ([SDK] CartErrorCode.cs)
	codeCartInvalidInput   = 10010  // cart error InvalidInput
	codeCartMaxSeats       = 10015  // cart error MaxAllowedSeatsPerSubscriptionExceeded
)

func notFound(description string) reply {
	return errorReply(http.StatusNotFound, codeNotFound, description)
}

func badInput(description string) reply {
	return errorReply(http.StatusBadRequest, codeInvalidInput, description)
}
